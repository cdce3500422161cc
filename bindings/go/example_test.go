package focal_test

import (
	"errors"
	"fmt"

	"libfocal.org/focal"
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
