package focal

/*
#include <focal/focal.h>
*/
import "C"

// The 1.1 functions of the header, bound one to one: the divisor and the
// soft form, pos_weight, the generalized family's settings, the shard's
// counts, the gradient with respect to dense targets, and bfloat16 /
// float16 storage (uint16 bit patterns). Buffer lengths are checked as
// for the float32 and float64 calls before C is reached.

func u16(s []uint16) *C.uint16_t { return (*C.uint16_t)(ptr(s)) }

// SoftForm is focal_soft_form: the soft-target form of sigmoid mode.
type SoftForm int

const (
	SoftTorchvision SoftForm = C.FOCAL_SOFT_TORCHVISION
	SoftSplit       SoftForm = C.FOCAL_SOFT_SPLIT
)

// SetDivisor sets the divisor of FOCAL_REDUCTION_DIVISOR.
func (l *Loss) SetDivisor(v float64) error {
	return l.write("SetDivisor", func(p *C.focal_loss) C.focal_status { return C.focal_loss_set_divisor(p, C.double(v)) })
}

// Divisor returns the divisor of FOCAL_REDUCTION_DIVISOR.
func (l *Loss) Divisor() (float64, error) {
	var v C.double
	err := l.read("Divisor", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_divisor(p, &v) })
	return float64(v), err
}

// SetGammaNegative sets the ASL's exponent of the negatives.
func (l *Loss) SetGammaNegative(v float64) error {
	return l.write("SetGammaNegative", func(p *C.focal_loss) C.focal_status { return C.focal_loss_set_gamma_negative(p, C.double(v)) })
}

// GammaNegative returns the ASL's exponent of the negatives.
func (l *Loss) GammaNegative() (float64, error) {
	var v C.double
	err := l.read("GammaNegative", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_gamma_negative(p, &v) })
	return float64(v), err
}

// SetClip sets the ASL's probability margin.
func (l *Loss) SetClip(v float64) error {
	return l.write("SetClip", func(p *C.focal_loss) C.focal_status { return C.focal_loss_set_clip(p, C.double(v)) })
}

// Clip returns the ASL's probability margin.
func (l *Loss) Clip() (float64, error) {
	var v C.double
	err := l.read("Clip", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_clip(p, &v) })
	return float64(v), err
}

// SetPolyEpsilon sets the Poly-1 epsilon.
func (l *Loss) SetPolyEpsilon(v float64) error {
	return l.write("SetPolyEpsilon", func(p *C.focal_loss) C.focal_status { return C.focal_loss_set_poly_epsilon(p, C.double(v)) })
}

// PolyEpsilon returns the Poly-1 epsilon.
func (l *Loss) PolyEpsilon() (float64, error) {
	var v C.double
	err := l.read("PolyEpsilon", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_poly_epsilon(p, &v) })
	return float64(v), err
}

// SetSoftForm sets the soft-target form of sigmoid mode.
func (l *Loss) SetSoftForm(f SoftForm) error {
	return l.write("SetSoftForm", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_soft_form(p, C.focal_soft_form(f))
	})
}

// SoftForm returns the soft-target form.
func (l *Loss) SoftForm() (SoftForm, error) {
	var v C.focal_soft_form
	err := l.read("SoftForm", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_soft_form(p, &v) })
	return SoftForm(v), err
}

// SetPosWeightVector sets one pos_weight per class (copied).
func (l *Loss) SetPosWeightVector(w []float64) error {
	if len(w) == 0 {
		return &Error{Op: "SetPosWeightVector", Status: StatusInvalidShape, Message: "the pos_weight vector is empty"}
	}
	return l.write("SetPosWeightVector", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_pos_weight_vector(p, f64(w), C.int64_t(len(w)))
	})
}

// ClearPosWeight goes back to no pos_weight (1 for every class).
func (l *Loss) ClearPosWeight() error {
	return l.write("ClearPosWeight", func(p *C.focal_loss) C.focal_status { return C.focal_loss_clear_pos_weight(p) })
}

// PosWeightVector returns the pos_weight vector (an error when none is set).
func (l *Loss) PosWeightVector() ([]float64, error) {
	var count C.int64_t
	if err := l.read("PosWeightVector", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_get_pos_weight_count(p, &count)
	}); err != nil {
		return nil, err
	}
	w := make([]float64, int(count))
	err := l.read("PosWeightVector", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_get_pos_weight_vector(p, f64(w), count)
	})
	return w, err
}

// counts runs one counts call after checking the buffers' lengths.
func (l *Loss) counts(op string, s Shape, target, weight int, dense bool, f func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status) ([3]float64, error) {
	var out [3]float64
	b := buffers{input: absent, target: target, weight: weight, out: absent, gradOut: absent, gradInput: absent, dense: dense}
	err := l.compute(op, s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return f(p, n, c, inner, (*C.double)(&out[0]))
	})
	return out, err
}

// Counts32 returns the shard's counts for index targets (focal_counts_f32).
func (l *Loss) Counts32(s Shape, target []int64, weight []float32) ([3]float64, error) {
	return l.counts("Counts32", s, len(target), optLen(weight), false, func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status {
		return C.focal_counts_f32(p, n, c, inner, i64(target), f32(weight), out)
	})
}

// CountsDense32 returns the shard's counts for dense targets.
func (l *Loss) CountsDense32(s Shape, target, weight []float32) ([3]float64, error) {
	return l.counts("CountsDense32", s, len(target), optLen(weight), true, func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status {
		return C.focal_counts_dense_f32(p, n, c, inner, f32(target), f32(weight), out)
	})
}

// Counts64 returns the shard's counts for index targets (focal_counts_f64).
func (l *Loss) Counts64(s Shape, target []int64, weight []float64) ([3]float64, error) {
	return l.counts("Counts64", s, len(target), optLen(weight), false, func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status {
		return C.focal_counts_f64(p, n, c, inner, i64(target), f64(weight), out)
	})
}

// CountsDense64 returns the shard's counts for dense targets.
func (l *Loss) CountsDense64(s Shape, target, weight []float64) ([3]float64, error) {
	return l.counts("CountsDense64", s, len(target), optLen(weight), true, func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status {
		return C.focal_counts_dense_f64(p, n, c, inner, f64(target), f64(weight), out)
	})
}

// CountsBF16 returns the shard's counts for index targets (focal_counts_bf16).
func (l *Loss) CountsBF16(s Shape, target []int64, weight []uint16) ([3]float64, error) {
	return l.counts("CountsBF16", s, len(target), optLen(weight), false, func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status {
		return C.focal_counts_bf16(p, n, c, inner, i64(target), u16(weight), out)
	})
}

// CountsDenseBF16 returns the shard's counts for dense targets.
func (l *Loss) CountsDenseBF16(s Shape, target, weight []uint16) ([3]float64, error) {
	return l.counts("CountsDenseBF16", s, len(target), optLen(weight), true, func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status {
		return C.focal_counts_dense_bf16(p, n, c, inner, u16(target), u16(weight), out)
	})
}

// CountsF16 returns the shard's counts for index targets (focal_counts_f16).
func (l *Loss) CountsF16(s Shape, target []int64, weight []uint16) ([3]float64, error) {
	return l.counts("CountsF16", s, len(target), optLen(weight), false, func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status {
		return C.focal_counts_f16(p, n, c, inner, i64(target), u16(weight), out)
	})
}

// CountsDenseF16 returns the shard's counts for dense targets.
func (l *Loss) CountsDenseF16(s Shape, target, weight []uint16) ([3]float64, error) {
	return l.counts("CountsDenseF16", s, len(target), optLen(weight), true, func(p *C.focal_loss, n, c, inner C.int64_t, out *C.double) C.focal_status {
		return C.focal_counts_dense_f16(p, n, c, inner, u16(target), u16(weight), out)
	})
}

// BackwardTargetDense32 computes the gradient of sum(gradOut * out) with
// respect to the dense targets into gradTarget.
func (l *Loss) BackwardTargetDense32(s Shape, input, target, weight, gradOut, gradTarget []float32) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradTarget), dense: true}
	return l.compute("BackwardTargetDense32", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_target_dense_f32(p, n, c, inner, f32(input), f32(target), f32(weight), f32(gradOut), f32(gradTarget))
	})
}

// BackwardTargetDense64 computes the gradient of sum(gradOut * out) with
// respect to the dense targets into gradTarget.
func (l *Loss) BackwardTargetDense64(s Shape, input, target, weight, gradOut, gradTarget []float64) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradTarget), dense: true}
	return l.compute("BackwardTargetDense64", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_target_dense_f64(p, n, c, inner, f64(input), f64(target), f64(weight), f64(gradOut), f64(gradTarget))
	})
}

// ForwardBF16 computes the loss from bf16 bit patterns into out.
func (l *Loss) ForwardBF16(s Shape, input []uint16, target []int64, weight, out []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: len(out), gradOut: absent, gradInput: absent}
	return l.compute("ForwardBF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_bf16(p, n, c, inner, u16(input), i64(target), u16(weight), u16(out))
	})
}

// BackwardBF16 computes the gradient of sum(gradOut * out) into gradInput.
func (l *Loss) BackwardBF16(s Shape, input []uint16, target []int64, weight, gradOut, gradInput []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradInput)}
	return l.compute("BackwardBF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_bf16(p, n, c, inner, u16(input), i64(target), u16(weight), u16(gradOut), u16(gradInput))
	})
}

// ForwardBackwardBF16 computes the loss and its gradient in one pass.
func (l *Loss) ForwardBackwardBF16(s Shape, input []uint16, target []int64, weight, out, gradInput []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: optLen(out), gradOut: absent, gradInput: optLen(gradInput)}
	return l.compute("ForwardBackwardBF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_backward_bf16(p, n, c, inner, u16(input), i64(target), u16(weight), u16(out), u16(gradInput))
	})
}

// ForwardDenseBF16 computes the loss from bf16 bit patterns into out.
func (l *Loss) ForwardDenseBF16(s Shape, input []uint16, target []uint16, weight, out []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: len(out), gradOut: absent, gradInput: absent, dense: true}
	return l.compute("ForwardDenseBF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_dense_bf16(p, n, c, inner, u16(input), u16(target), u16(weight), u16(out))
	})
}

// BackwardDenseBF16 computes the gradient of sum(gradOut * out) into gradInput.
func (l *Loss) BackwardDenseBF16(s Shape, input []uint16, target []uint16, weight, gradOut, gradInput []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradInput), dense: true}
	return l.compute("BackwardDenseBF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_dense_bf16(p, n, c, inner, u16(input), u16(target), u16(weight), u16(gradOut), u16(gradInput))
	})
}

// ForwardBackwardDenseBF16 computes the loss and its gradient in one pass.
func (l *Loss) ForwardBackwardDenseBF16(s Shape, input []uint16, target []uint16, weight, out, gradInput []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: optLen(out), gradOut: absent, gradInput: optLen(gradInput), dense: true}
	return l.compute("ForwardBackwardDenseBF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_backward_dense_bf16(p, n, c, inner, u16(input), u16(target), u16(weight), u16(out), u16(gradInput))
	})
}

// ForwardF16 computes the loss from f16 bit patterns into out.
func (l *Loss) ForwardF16(s Shape, input []uint16, target []int64, weight, out []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: len(out), gradOut: absent, gradInput: absent}
	return l.compute("ForwardF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_f16(p, n, c, inner, u16(input), i64(target), u16(weight), u16(out))
	})
}

// BackwardF16 computes the gradient of sum(gradOut * out) into gradInput.
func (l *Loss) BackwardF16(s Shape, input []uint16, target []int64, weight, gradOut, gradInput []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradInput)}
	return l.compute("BackwardF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_f16(p, n, c, inner, u16(input), i64(target), u16(weight), u16(gradOut), u16(gradInput))
	})
}

// ForwardBackwardF16 computes the loss and its gradient in one pass.
func (l *Loss) ForwardBackwardF16(s Shape, input []uint16, target []int64, weight, out, gradInput []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: optLen(out), gradOut: absent, gradInput: optLen(gradInput)}
	return l.compute("ForwardBackwardF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_backward_f16(p, n, c, inner, u16(input), i64(target), u16(weight), u16(out), u16(gradInput))
	})
}

// ForwardDenseF16 computes the loss from f16 bit patterns into out.
func (l *Loss) ForwardDenseF16(s Shape, input []uint16, target []uint16, weight, out []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: len(out), gradOut: absent, gradInput: absent, dense: true}
	return l.compute("ForwardDenseF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_dense_f16(p, n, c, inner, u16(input), u16(target), u16(weight), u16(out))
	})
}

// BackwardDenseF16 computes the gradient of sum(gradOut * out) into gradInput.
func (l *Loss) BackwardDenseF16(s Shape, input []uint16, target []uint16, weight, gradOut, gradInput []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: absent, gradOut: len(gradOut), gradInput: len(gradInput), dense: true}
	return l.compute("BackwardDenseF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_backward_dense_f16(p, n, c, inner, u16(input), u16(target), u16(weight), u16(gradOut), u16(gradInput))
	})
}

// ForwardBackwardDenseF16 computes the loss and its gradient in one pass.
func (l *Loss) ForwardBackwardDenseF16(s Shape, input []uint16, target []uint16, weight, out, gradInput []uint16) error {
	b := buffers{input: len(input), target: len(target), weight: optLen(weight), out: optLen(out), gradOut: absent, gradInput: optLen(gradInput), dense: true}
	return l.compute("ForwardBackwardDenseF16", s, b, func(p *C.focal_loss, n, c, inner C.int64_t) C.focal_status {
		return C.focal_forward_backward_dense_f16(p, n, c, inner, u16(input), u16(target), u16(weight), u16(out), u16(gradInput))
	})
}
