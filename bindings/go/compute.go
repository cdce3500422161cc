package focal

/*
#include <focal/focal.h>
*/
import "C"

import (
	"fmt"
	"math"
)

// Shape is the logical shape (n, c, inner) of a dense C-contiguous input:
// (N, C) is {N, C, 1}; (N, C, H, W) is {N, C, H*W}; channels-last
// (N, H, W, C) is {N*H*W, C, 1}. A position is one (n, inner) pair, an
// element one (n, c, inner) triple.
type Shape struct {
	N, C, Inner int
}

// Positions is n*inner: the length of index targets and weights.
func (s Shape) Positions() int { return s.N * s.Inner }

// Elements is n*c*inner: the length of the input, dense targets and the
// input gradient.
func (s Shape) Elements() int { return s.N * s.C * s.Inner }

// OutLen is the length of out (and of the upstream gradient) for a loss
// with this mode and reduction: 1 when reduced; with ReductionNone n*inner
// (softmax) or n*c*inner (sigmoid).
func OutLen(mode Mode, r Reduction, s Shape) int {
	switch {
	case r != ReductionNone:
		return 1
	case mode == Sigmoid:
		return s.Elements()
	default:
		return s.Positions()
	}
}

// OutLen is the length of out for this Loss's settings and shape s.
func (l *Loss) OutLen(s Shape) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return OutLen(l.mode, l.reduction, s)
}

func shapeError(op, format string, a ...interface{}) error {
	return &Error{Op: op, Status: StatusInvalidShape, Message: fmt.Sprintf(format, a...)}
}

// dims validates s and converts it for C.
func (s Shape) dims(op string) (n, c, inner C.int64_t, err error) {
	if s.N < 1 || s.C < 1 || s.Inner < 1 {
		return 0, 0, 0, shapeError(op, "shape %+v: N, C and Inner must be at least 1", s)
	}
	if s.N > math.MaxInt/s.Inner || s.N*s.Inner > math.MaxInt/s.C {
		return 0, 0, 0, shapeError(op, "shape %+v: N*C*Inner overflows", s)
	}
	return C.int64_t(s.N), C.int64_t(s.C), C.int64_t(s.Inner), nil
}

// buffers lists the lengths of one call's slices; -1 is an optional slice
// passed as nil, which the C call receives as NULL.
type buffers struct {
	input, target, weight, out, gradOut, gradInput int
	dense                                          bool
}

const absent = -1

func optLen[T any](s []T) int {
	if s == nil {
		return absent
	}
	return len(s)
}

func checkLen(op, what string, got, want int) error {
	if got != want {
		return shapeError(op, "%s has %d values but the shape needs %d", what, got, want)
	}
	return nil
}

func (b buffers) check(op string, s Shape, outLen int) error {
	if b.input != absent { // the counts read no input
		if err := checkLen(op, "input", b.input, s.Elements()); err != nil {
			return err
		}
	}
	if b.dense {
		if err := checkLen(op, "target (dense, shaped like input)", b.target, s.Elements()); err != nil {
			return err
		}
	} else if err := checkLen(op, "target (one class index per position)", b.target, s.Positions()); err != nil {
		return err
	}
	if b.weight != absent {
		if err := checkLen(op, "weight (one per position)", b.weight, s.Positions()); err != nil {
			return err
		}
	}
	if b.out != absent {
		if err := checkLen(op, "out", b.out, outLen); err != nil {
			return err
		}
	}
	if b.gradOut != absent {
		if err := checkLen(op, "gradOut (shaped like out)", b.gradOut, outLen); err != nil {
			return err
		}
	}
	if b.gradInput != absent {
		if err := checkLen(op, "gradInput (shaped like input)", b.gradInput, s.Elements()); err != nil {
			return err
		}
	}
	return nil
}

type call3 func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status

// compute checks the slice lengths against s and the current settings, then
// runs f under the shared lock, so any number of computations run at once.
func (l *Loss) compute(op string, s Shape, b buffers, f call3) error {
	n, c, inner, err := s.dims(op)
	if err != nil {
		return err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.ptr == nil {
		return closedError(op)
	}
	if err := b.check(op, s, OutLen(l.mode, l.reduction, s)); err != nil {
		return err
	}
	return call(op, func() C.focal_status { return f(l.ptr, n, c, inner) })
}

func f32(s []float32) *C.float  { return (*C.float)(ptr(s)) }
func f64(s []float64) *C.double { return (*C.double)(ptr(s)) }
func i64(s []int64) *C.int64_t  { return (*C.int64_t)(ptr(s)) }

// Forward64 computes the loss for index targets (one class per position;
// in sigmoid mode C means background) into out, which has l.OutLen(s)
// values. weight is nil or one weight per position.
func (l *Loss) Forward64(s Shape, input []float64, target []int64, weight, out []float64) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: len(out), gradOut: absent, gradInput: absent}
	return l.compute("Forward64", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_f64(p, n, c, inner, f64(input), i64(target), f64(weight), f64(out))
	})
}

// Backward64 computes the gradient of sum(gradOut * out) with respect to
// the input into gradInput.
func (l *Loss) Backward64(s Shape, input []float64, target []int64, weight, gradOut, gradInput []float64) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradInput)}
	return l.compute("Backward64", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_f64(p, n, c, inner, f64(input), i64(target), f64(weight), f64(gradOut), f64(gradInput))
	})
}

// ForwardBackward64 computes the loss and the gradient of the reduced loss
// (with ReductionNone: of the sum of out) in one pass; out or gradInput may
// be nil to skip it.
func (l *Loss) ForwardBackward64(s Shape, input []float64, target []int64, weight, out, gradInput []float64) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: optLen(out), gradOut: absent, gradInput: optLen(gradInput)}
	return l.compute("ForwardBackward64", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_backward_f64(p, n, c, inner, f64(input), i64(target), f64(weight), f64(out), f64(gradInput))
	})
}

// ForwardDense64 is Forward64 with dense targets shaped like the input.
func (l *Loss) ForwardDense64(s Shape, input, target, weight, out []float64) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: len(out), gradOut: absent, gradInput: absent, dense: true}
	return l.compute("ForwardDense64", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_dense_f64(p, n, c, inner, f64(input), f64(target), f64(weight), f64(out))
	})
}

// BackwardDense64 is Backward64 with dense targets shaped like the input.
func (l *Loss) BackwardDense64(s Shape, input, target, weight, gradOut, gradInput []float64) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradInput), dense: true}
	return l.compute("BackwardDense64", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_dense_f64(p, n, c, inner, f64(input), f64(target), f64(weight), f64(gradOut), f64(gradInput))
	})
}

// ForwardBackwardDense64 is ForwardBackward64 with dense targets shaped
// like the input.
func (l *Loss) ForwardBackwardDense64(s Shape, input, target, weight, out, gradInput []float64) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: optLen(out), gradOut: absent, gradInput: optLen(gradInput), dense: true}
	return l.compute("ForwardBackwardDense64", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_backward_dense_f64(p, n, c, inner, f64(input), f64(target), f64(weight), f64(out), f64(gradInput))
	})
}

// Forward32 is Forward64 in float32.
func (l *Loss) Forward32(s Shape, input []float32, target []int64, weight, out []float32) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: len(out), gradOut: absent, gradInput: absent}
	return l.compute("Forward32", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_f32(p, n, c, inner, f32(input), i64(target), f32(weight), f32(out))
	})
}

// Backward32 is Backward64 in float32.
func (l *Loss) Backward32(s Shape, input []float32, target []int64, weight, gradOut, gradInput []float32) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradInput)}
	return l.compute("Backward32", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_f32(p, n, c, inner, f32(input), i64(target), f32(weight), f32(gradOut), f32(gradInput))
	})
}

// ForwardBackward32 is ForwardBackward64 in float32.
func (l *Loss) ForwardBackward32(s Shape, input []float32, target []int64, weight, out, gradInput []float32) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: optLen(out), gradOut: absent, gradInput: optLen(gradInput)}
	return l.compute("ForwardBackward32", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_backward_f32(p, n, c, inner, f32(input), i64(target), f32(weight), f32(out), f32(gradInput))
	})
}

// ForwardDense32 is ForwardDense64 in float32.
func (l *Loss) ForwardDense32(s Shape, input, target, weight, out []float32) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: len(out), gradOut: absent, gradInput: absent, dense: true}
	return l.compute("ForwardDense32", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_dense_f32(p, n, c, inner, f32(input), f32(target), f32(weight), f32(out))
	})
}

// BackwardDense32 is BackwardDense64 in float32.
func (l *Loss) BackwardDense32(s Shape, input, target, weight, gradOut, gradInput []float32) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradInput), dense: true}
	return l.compute("BackwardDense32", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_dense_f32(p, n, c, inner, f32(input), f32(target), f32(weight), f32(gradOut), f32(gradInput))
	})
}

// ForwardBackwardDense32 is ForwardBackwardDense64 in float32.
func (l *Loss) ForwardBackwardDense32(s Shape, input, target, weight, out, gradInput []float32) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: optLen(out), gradOut: absent, gradInput: optLen(gradInput), dense: true}
	return l.compute("ForwardBackwardDense32", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_backward_dense_f32(p, n, c, inner, f32(input), f32(target), f32(weight), f32(out), f32(gradInput))
	})
}
