// SPDX-License-Identifier: GPL-2.0
/* kipsec: anti-replay window (stub, replaced by the datapath) */
#include "kipsec.h"
