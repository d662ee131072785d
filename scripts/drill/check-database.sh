#!/bin/sh
# Example restore check for an RDS instance (docs/DR-DRILLS.md): exit 0 when the restored
# instance is available. Extend it with a read-only query of your schema's row counts.
set -eu
id="${PHI_DRILL_RESOURCE_ARN##*:db:}"
status=$(aws rds describe-db-instances --db-instance-identifier "$id" --query 'DBInstances[0].DBInstanceStatus' --output text)
[ "$status" = "available" ]
