/* sampler.h — what the engine (and a backend sampling on its device) may see of a sampler: its
 * parameters and its random stream's state, so that device-side sampling draws the same numbers
 * as hearth_sampler_sample would. The public API is in hearth.h. */
#ifndef HEARTH_SAMPLER_H
#define HEARTH_SAMPLER_H

#include "hearth.h"

const hearth_sampler_params *sampler_params(const hearth_sampler *s);
uint64_t *sampler_rng(hearth_sampler *s);

#endif
