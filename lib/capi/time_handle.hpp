// time_handle.hpp -- the struct behind lifeline_business_hours_t.
#ifndef LIFELINE_LIB_CAPI_TIME_HANDLE_HPP_
#define LIFELINE_LIB_CAPI_TIME_HANDLE_HPP_

#include "lifeline/business_hours.hpp"

struct lifeline_business_hours_t {
  lifeline::BusinessHours hours;
};

#endif  // LIFELINE_LIB_CAPI_TIME_HANDLE_HPP_
