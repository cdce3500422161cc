# The vector vocabulary's tests come with its instruction-set headers.
