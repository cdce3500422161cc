package focal_test

import (
	"errors"
	"fmt"
	"math"

	focal "libfocal.org/libfocal/bindings/go"
)

func Example() {
	loss, err := focal.NewLoss(focal.Softmax)
	if err != nil {
		panic(err)
	}
	defer loss.Close()
	if err := loss.SetGamma(2); err != nil {
		panic(err)
	}

	// Two samples, three classes: logits (N, C) and one class index each.
	shape := focal.Shape{N: 2, C: 3, Inner: 1}
	logits := []float64{2.0, 0.5, -1.0, 0.1, 0.2, 3.0}
	target := []int64{0, 2}
	value := make([]float64, loss.OutLen(shape))
	grad := make([]float64, len(logits))
	if err := loss.ForwardBackward64(shape, logits, target, nil, value, grad); err != nil {
		panic(err)
	}
	fmt.Printf("loss %.6f, d loss / d logit[0] %.6f\n", value[0], grad[0])

	// A class index outside [0, 3) comes back as an *focal.Error.
	err = loss.Forward64(shape, logits, []int64{0, 7}, nil, value)
	fmt.Println(errors.Is(err, focal.ErrInvalidTarget))
	fmt.Println(err)
	// Output:
	// loss 0.006137, d loss / d logit[0] -0.013642
	// true
	// focal: Forward64: invalid target: target[1] = 7 is outside [0, 3)
}

func ExamplePriorBias() {
	bias, err := focal.PriorBias(0.01)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.4f\n", bias)
	// Output: -4.5951
}

// Data-parallel training: each rank reports its shard's denominators, the
// ranks sum them (MPI_Allreduce, torch.distributed.all_reduce), and each
// computes its shard with the global count as the divisor. Here the two
// "ranks" are two halves of one batch, and their losses add up to the
// single call's mean.
func ExampleLoss_Counts64() {
	loss, err := focal.NewLoss(focal.Softmax)
	if err != nil {
		panic(err)
	}
	defer loss.Close()
	if err := loss.SetGamma(0); err != nil { // cross-entropy, to check by hand
		panic(err)
	}
	logits := []float64{2.0, 0.5, -1.0, 0.1, 0.2, 3.0}
	target := []int64{0, 2}
	shard := focal.Shape{N: 1, C: 3, Inner: 1}
	var global [3]float64
	for r := 0; r < 2; r++ {
		counts, err := loss.Counts64(shard, target[r:r+1], nil)
		if err != nil {
			panic(err)
		}
		for i := range global {
			global[i] += counts[i]
		}
	}
	if err := loss.SetReduction(focal.ReductionDivisor); err != nil {
		panic(err)
	}
	if err := loss.SetDivisor(global[0]); err != nil {
		panic(err)
	}
	sum := 0.0
	for r := 0; r < 2; r++ {
		value := make([]float64, 1)
		if err := loss.Forward64(shard, logits[3*r:3*r+3], target[r:r+1], nil, value); err != nil {
			panic(err)
		}
		sum += value[0]
	}
	// The mean cross-entropy of the two rows, written out.
	ce := func(x []float64, t int) float64 {
		return math.Log(math.Exp(x[0])+math.Exp(x[1])+math.Exp(x[2])) - x[t]
	}
	want := (ce(logits[0:3], 0) + ce(logits[3:6], 2)) / 2
	fmt.Printf("global positions %.0f; sum of the shards %.12f; mean cross-entropy %.12f\n", global[0], sum, want)
	// Output: global positions 2; sum of the shards 0.175456380589; mean cross-entropy 0.175456380589
}

// Quality Focal Loss with beta (gamma) 0 is the binary cross-entropy with
// a soft (IoU) target.
func ExampleVariantQFL() {
	loss, err := focal.NewLoss(focal.Sigmoid)
	if err != nil {
		panic(err)
	}
	defer loss.Close()
	for _, set := range []error{loss.SetVariant(focal.VariantQFL), loss.SetGamma(0),
		loss.SetReduction(focal.ReductionSum)} {
		if set != nil {
			panic(set)
		}
	}
	x, y := 0.3, 0.8 // one logit, its IoU target
	value := make([]float64, 1)
	if err := loss.ForwardDense64(focal.Shape{N: 1, C: 1, Inner: 1}, []float64{x}, []float64{y}, nil, value); err != nil {
		panic(err)
	}
	p := 1 / (1 + math.Exp(-x))
	fmt.Printf("%.12f %.12f\n", value[0], -(y*math.Log(p) + (1-y)*math.Log(1-p)))
	// Output: 0.614355244469 0.614355244469
}

// bfloat16 storage: the input and the result are uint16 bit patterns, the
// math that of the float32 path, each result rounded once.
func ExampleLoss_ForwardBF16() {
	loss, err := focal.NewLoss(focal.Softmax)
	if err != nil {
		panic(err)
	}
	defer loss.Close()
	if err := loss.SetGamma(0); err != nil {
		panic(err)
	}
	bf16 := func(f float32) uint16 { return uint16(math.Float32bits(f) >> 16) } // exact for these values
	logits := []uint16{bf16(1), bf16(0)}                                        // two classes
	out := make([]uint16, 1)
	if err := loss.ForwardBF16(focal.Shape{N: 1, C: 2, Inner: 1}, logits, []int64{0}, nil, out); err != nil {
		panic(err)
	}
	got := math.Float32frombits(uint32(out[0]) << 16)
	fmt.Printf("%#04x = %g; log(1 + e^-1) = %.6f\n", out[0], got, math.Log1p(math.Exp(-1)))
	// Output: 0x3ea0 = 0.3125; log(1 + e^-1) = 0.313262
}
