"""Operations commands (`caspr-ops`): dead letters for now (caspr_ops.dlq)."""
