// SPDX-License-Identifier: GPL-2.0
/* kipsec: crypto API glue (stub, replaced by the datapath) */
#include "kipsec.h"
