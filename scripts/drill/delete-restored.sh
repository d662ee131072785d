#!/bin/sh
# Example cleanup command (docs/DR-DRILLS.md): deletes the copy a restore test created, named
# by $PHI_DRILL_RESOURCE_ARN ($PHI_DRILL_RESOURCE_TYPE says what it is). phi-console only runs
# it on the restore job's CreatedResourceArn, never on the source.
set -eu
arn="$PHI_DRILL_RESOURCE_ARN"
case "$PHI_DRILL_RESOURCE_TYPE" in
  DynamoDB) aws dynamodb delete-table --table-name "${arn##*:table/}" >/dev/null ;;
  RDS|Aurora) aws rds delete-db-instance --db-instance-identifier "${arn##*:db:}" \
      --skip-final-snapshot --delete-automated-backups >/dev/null ;;
  S3) bucket="${arn##*:::}"
      aws s3 rm "s3://$bucket" --recursive >/dev/null
      aws s3api delete-bucket --bucket "$bucket" ;;
  *) echo "no cleanup for $PHI_DRILL_RESOURCE_TYPE" >&2; exit 3 ;;
esac
