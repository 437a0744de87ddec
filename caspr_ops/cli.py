"""`caspr-ops dlq list|redrive SERVICE`: look at and redrive dead letters.

    caspr-ops --local dlq list registration          # the local stack of `make run` (127.0.0.1:$PORT)
    caspr-ops --gateway http://127.0.0.1:8001 dlq redrive registration
    caspr-ops --stage prod dlq list registration     # AWS: credentials and region of the environment
    caspr-ops --stage prod dlq redrive registration

Where: `--local` (or `--gateway URL`, the URL `make run` prints) asks the local stack's gateway
where its AWS emulator listens (stage `local`); `--endpoint-url` (or AWS_ENDPOINT_URL) names an
emulator directly; without either, the AWS account of the environment, stage `--stage`
(default CASPR_STAGE, else local)."""

from __future__ import annotations

import argparse
import os
import sys

from caspr_ops import dlq
from shared.settings import SERVICES

LOCAL_GATEWAY = f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"


def local_endpoint(gateway: str) -> tuple[str, str]:
    """(emulator URL, stage) of the local stack whose gateway is at `gateway`."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(gateway.rstrip("/") + "/_local/aws", timeout=10) as response:  # noqa: S310
            found = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise dlq.OpsError(f"no local stack at {gateway} ({exc}): is `make run` running (PORT)?") from exc
    return found["endpoint_url"], found.get("stage", "local")


def _endpoint(args) -> str | None:
    return args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None


def _client(args):
    import boto3

    endpoint = _endpoint(args)
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if endpoint:  # the local stack's emulator takes any credentials
        return boto3.client("sqs", endpoint_url=endpoint, region_name=region,
                            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or "local",
                            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or "local")
    return boto3.client("sqs", region_name=region)


def main(argv: list[str] | None = None, sqs=None, out=print) -> int:
    parser = argparse.ArgumentParser(prog="caspr-ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default=os.environ.get("CASPR_STAGE") or "local")
    parser.add_argument("--endpoint-url", default=None,
                        help="the local stack's emulator (default AWS_ENDPOINT_URL; none: AWS)")
    parser.add_argument("--local", action="store_true", help=f"the local stack of `make run` ({LOCAL_GATEWAY})")
    parser.add_argument("--gateway", default=None, metavar="URL", help="the local stack whose gateway is at URL")
    parser.add_argument("--region", default=None)
    commands = parser.add_subparsers(dest="command", required=True)
    dlq_parser = commands.add_parser("dlq", help="dead-letter queues of a service")
    actions = dlq_parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="print each dead letter (nothing is deleted)")
    listing.add_argument("service", choices=SERVICES)
    listing.add_argument("--max", type=int, default=1000, help="at most this many per queue")
    redrive = actions.add_parser("redrive", help="move the events DLQ's messages back to the service's queue")
    redrive.add_argument("service", choices=SERVICES)
    args = parser.parse_args(argv)

    try:
        if args.local or args.gateway:
            args.endpoint_url, args.stage = local_endpoint(args.gateway or LOCAL_GATEWAY)
        client = sqs or _client(args)
        queues = dlq.Queues.of(client, args.stage, args.service)
        if args.action == "list":
            for line in dlq.list_lines(client, queues, limit=args.max):
                out(line)
            return 0
        moved, how = dlq.redrive(client, queues, local=bool(_endpoint(args)))
        out(f"redrove {moved} message(s) from {queues.dlq_name} to {queues.queue_name} ({how})")
        pointers = dlq.count(client, queues.relay_dlq_url)
        if pointers:
            out(f"note: {queues.relay_dlq_name} holds {pointers} batch(es) the outbox relay gave up on; the sweep "
                "delivers their events from the table (nothing to redrive there)")
        return 0
    except dlq.OpsError as exc:
        print(f"caspr-ops: {exc}", file=sys.stderr)
        return 2
