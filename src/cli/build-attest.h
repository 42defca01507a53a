/*
 * build-attest.h: what `hoist build` puts into its attestations (the
 * provenance's parameters and materials, the SBOM's inputs), for both
 * forms of the command.
 */
#ifndef HOIST_CLI_BUILD_ATTEST_H
#define HOIST_CLI_BUILD_ATTEST_H

#include <stddef.h>

#include "lib/attest.h"
#include "lib/build.h"
#include "lib/dfbuild.h"

struct hoist_build_attest {
	struct hoist_attest_opts opts; /* what the exporters attach */
	struct hoist_attest_param *params;
	size_t nparams, maxparams;
	struct hoist_attest_material *mats;
	size_t nmats;
	const char **dirs;
	const struct hoist_platform **dplats;
};

/*
 * Fill ba for the request r and the build bo (its platforms, layers and
 * image settings), built on from (--from, or NULL) with --platform
 * platform (or NULL). For a Dockerfile build dfo is its options (its
 * images array filled by the build: every base image becomes a material)
 * and context the CONTEXT argument as given; else both are NULL.
 * Environment variables, labels and build arguments (which may carry
 * secrets) are parameters with mode=max only, as BuildKit keeps build
 * arguments out of mode=min.
 */
void hoist_build_attest_setup(struct hoist_build_attest *ba,
			      const struct hoist_attest_req *r,
			      const struct hoist_build_opts *bo,
			      const char *from, const char *platform,
			      const struct hoist_dfbuild_opts *dfo,
			      const char *context);
void hoist_build_attest_release(struct hoist_build_attest *ba);

#endif
