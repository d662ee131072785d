#!/bin/sh
# Example restore check for a DynamoDB table (docs/DR-DRILLS.md): exit 0 when the restored
# table is ACTIVE and holds items. phi-console gives the restored table's ARN in
# $PHI_DRILL_RESOURCE_ARN; the output is discarded (only the exit code counts).
set -eu
table="${PHI_DRILL_RESOURCE_ARN##*:table/}"
status=$(aws dynamodb describe-table --table-name "$table" --query 'Table.TableStatus' --output text)
[ "$status" = "ACTIVE" ]
count=$(aws dynamodb scan --table-name "$table" --select COUNT --max-items 1 --query 'Count' --output text)
[ "$count" -ge 1 ]
