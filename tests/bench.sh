#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: compare kipsec and Linux xfrm (issue 5). Not written yet.
echo "bench: the benchmark is not implemented yet (see docs/performance.md)"
exit 0
