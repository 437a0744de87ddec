"""Pure rules of the registration service: no boto3, pynamodb, powertools or pydantic.

- cms: the Prometric CMS ID (R1)
- calendar: the season calendar's keys and their order
- rules: registration window (R6), fees (R2, R4), status transitions (R7), Applicant
- codes: the Code Number policy (R3)
- programs: programs, tracks and the directory (R8)
- profile: time zone and profile fields (R7, I6)
"""
