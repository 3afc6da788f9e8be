#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# aim-timeout: 600
# The update soak (tests/soak/soak.sh, docs/soak.md), short: AIM_SOAK_CYCLES (default 30)
# update cycles cut at random points, seed printed. `make soak` runs 300.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
exec "$top/tests/soak/soak.sh" --cycles "${AIM_SOAK_CYCLES:-30}"
