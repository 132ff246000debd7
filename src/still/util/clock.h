// Wall and CPU clocks: how long something took and what it cost (manifests, logs, timings).
#pragma once

namespace still {

double wall_seconds_now();     // steady clock, seconds since an arbitrary epoch
double process_cpu_seconds();  // user + system time of the whole process

}  // namespace still
