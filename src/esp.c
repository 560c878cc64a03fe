// SPDX-License-Identifier: GPL-2.0
/* kipsec: ESP transform (stub, replaced by the datapath) */
#include "kipsec.h"
