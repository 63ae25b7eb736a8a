/* The two names the fork's libvmaf/dnn.h takes from libvmaf.h, for compiling a program against that
 * header without libvmaf (tests/c/vmafdnn_abi.sh). */
#ifndef TINYQAT_TEST_LIBVMAF_SHIM_H
#define TINYQAT_TEST_LIBVMAF_SHIM_H
typedef struct VmafContext VmafContext;
#define VMAF_EXPORT
#endif
