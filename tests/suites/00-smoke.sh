# SPDX-License-Identifier: GPL-2.0
# Harness smoke tests: the guest is sane and kipsec.ko is loaded.

t_loaded() {
	grep -q '^kipsec ' /proc/modules
}
ktest module_loaded t_loaded
