// Package focal binds libfocal, the focal loss of Lin et al. (ICCV 2017),
// forward and backward in float32 and float64.
//
// A Loss holds the settings; its compute methods may run on any number of
// goroutines at once, and setters wait until running computations finish.
// Errors are *Error values carrying the library's status and detail
// message; compare them with errors.Is against ErrInvalidTarget and the
// other sentinels, or read Status with errors.As.
//
// The package links against the installed library through pkg-config
// (PKG_CONFIG_PATH must reach focal.pc) and refuses to initialise when the
// loaded libfocal has a major version other than 1.
package focal

/*
#cgo pkg-config: focal
#include <focal/focal.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// BindingMajor is the major version of <focal/focal.h> this package was
// written for.
const BindingMajor = C.FOCAL_VERSION_MAJOR

func init() {
	if err := checkVersion(VersionNumber()); err != nil {
		panic(err.Error())
	}
}

// checkVersion accepts a library whose focal_version_number() has major
// version BindingMajor.
func checkVersion(number uint) error {
	major := number / 10000
	if major != BindingMajor {
		return fmt.Errorf("focal: the loaded libfocal is version %d.%d.%d (major %d), but this package "+
			"was written for major version %d (%s); install a libfocal %d.x or a matching binding",
			major, number/100%100, number%100, major, BindingMajor, C.FOCAL_VERSION_STRING, BindingMajor)
	}
	return nil
}

// VersionNumber is the loaded library's major*10000 + minor*100 + patch.
func VersionNumber() uint {
	return uint(C.focal_version_number())
}

// VersionString is the loaded library's "major.minor.patch".
func VersionString() string {
	return C.GoString(C.focal_version_string())
}

// ISA is the kernel path the library computes with in this process:
// "avx512", "avx2" or "scalar" (the portable path, also forced by FOCAL_MAX_ISA=scalar
// in the environment before the first call into the library).
func ISA() string {
	return C.GoString(C.focal_isa())
}

// Status is a focal_status value.
type Status int

// The values of focal_status.
const (
	StatusOK               Status = C.FOCAL_OK
	StatusNullPointer      Status = C.FOCAL_ERROR_NULL_POINTER
	StatusInvalidShape     Status = C.FOCAL_ERROR_INVALID_SHAPE
	StatusInvalidParameter Status = C.FOCAL_ERROR_INVALID_PARAMETER
	StatusInvalidTarget    Status = C.FOCAL_ERROR_INVALID_TARGET
	StatusInvalidWeight    Status = C.FOCAL_ERROR_INVALID_WEIGHT
	StatusIncompatible     Status = C.FOCAL_ERROR_INCOMPATIBLE
	StatusOutOfMemory      Status = C.FOCAL_ERROR_OUT_OF_MEMORY
	StatusInternal         Status = C.FOCAL_ERROR_INTERNAL
)

// String is the library's short description, e.g. "invalid target".
func (s Status) String() string {
	return C.GoString(C.focal_status_string(C.focal_status(s)))
}

// Error is a failure reported by libfocal, or found by the package before
// calling it (slice lengths, shapes), with the status the library uses.
type Error struct {
	Op      string // the method, e.g. "Forward64"
	Status  Status
	Message string // the detail, e.g. "target[1] = 7 is outside [0, 3)"
}

func (e *Error) Error() string {
	s := "focal: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	s += e.Status.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is reports whether target is the sentinel for e's status, so that
// errors.Is(err, ErrInvalidTarget) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Op == "" && t.Message == "" && t.Status == e.Status
}

// Sentinels, one per status, for errors.Is.
var (
	ErrNullPointer      = &Error{Status: StatusNullPointer}
	ErrInvalidShape     = &Error{Status: StatusInvalidShape}
	ErrInvalidParameter = &Error{Status: StatusInvalidParameter}
	ErrInvalidTarget    = &Error{Status: StatusInvalidTarget}
	ErrInvalidWeight    = &Error{Status: StatusInvalidWeight}
	ErrIncompatible     = &Error{Status: StatusIncompatible}
	ErrOutOfMemory      = &Error{Status: StatusOutOfMemory}
	ErrInternal         = &Error{Status: StatusInternal}
)

// ErrClosed is returned by every method of a Loss after Close.
var ErrClosed = errors.New("focal: use of a closed Loss")

// call runs one C call and reads focal_last_error() on the same OS thread:
// the message is per thread, and between two cgo calls a goroutine may move
// to another thread.
func call(op string, f func() C.focal_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	st := f()
	if st == C.FOCAL_OK {
		return nil
	}
	return &Error{Op: op, Status: Status(st), Message: C.GoString(C.focal_last_error())}
}

// lastError is this thread's focal_last_error(); the caller must have
// locked the goroutine to its OS thread for the answer to mean anything.
func lastError() string {
	return C.GoString(C.focal_last_error())
}

// Mode is focal_mode.
type Mode int

const (
	Softmax Mode = C.FOCAL_MODE_SOFTMAX // one softmax over the c axis per position
	Sigmoid Mode = C.FOCAL_MODE_SIGMOID // an independent sigmoid per element
)

// Reduction is focal_reduction.
type Reduction int

const (
	ReductionNone             Reduction = C.FOCAL_REDUCTION_NONE
	ReductionMean             Reduction = C.FOCAL_REDUCTION_MEAN
	ReductionSum              Reduction = C.FOCAL_REDUCTION_SUM
	ReductionWeightedMean     Reduction = C.FOCAL_REDUCTION_WEIGHTED_MEAN
	ReductionSumOverPositives Reduction = C.FOCAL_REDUCTION_SUM_OVER_POSITIVES
	ReductionDivisor          Reduction = C.FOCAL_REDUCTION_DIVISOR // SUM / divisor (since 1.1)
)

// Input is focal_input.
type Input int

const (
	InputLogits        Input = C.FOCAL_INPUT_LOGITS
	InputProbabilities Input = C.FOCAL_INPUT_PROBABILITIES
)

// Variant is focal_variant.
type Variant int

const (
	VariantFL     Variant = C.FOCAL_VARIANT_FL
	VariantFLStar Variant = C.FOCAL_VARIANT_FL_STAR
	VariantQFL    Variant = C.FOCAL_VARIANT_QFL // Quality Focal Loss (since 1.1)
	VariantVFL    Variant = C.FOCAL_VARIANT_VFL // Varifocal Loss (since 1.1)
	VariantASL    Variant = C.FOCAL_VARIANT_ASL // Asymmetric Loss (since 1.1)
)

// AlphaKind says which alpha a Loss has.
type AlphaKind int

const (
	AlphaNone AlphaKind = iota
	AlphaScalar
	AlphaVector
)

// Alpha is the alpha setting of a Loss.
type Alpha struct {
	Kind   AlphaKind
	Scalar float64   // AlphaScalar
	Vector []float64 // AlphaVector
}

// Loss is a focal loss context (focal_loss *). Create it with NewLoss and
// release it with Close; a finalizer closes a forgotten one.
type Loss struct {
	mu        sync.RWMutex
	ptr       *C.focal_loss
	mode      Mode
	reduction Reduction
}

// NewLoss returns a context with the library's defaults: gamma 2, no alpha,
// ReductionMean, no ignore index, logits input, epsilon 1e-7, no label
// smoothing, VariantFL, beta 0, threads 0.
func NewLoss(mode Mode) (*Loss, error) {
	var p *C.focal_loss
	err := call("NewLoss", func() C.focal_status { return C.focal_loss_create(&p, C.focal_mode(mode)) })
	if err != nil {
		return nil, err
	}
	return wrap(p, mode, ReductionMean), nil
}

func wrap(p *C.focal_loss, mode Mode, reduction Reduction) *Loss {
	l := &Loss{ptr: p, mode: mode, reduction: reduction}
	runtime.SetFinalizer(l, (*Loss).Close)
	return l
}

// Clone returns a deep copy (the alpha vector included); it may run while
// other goroutines compute with l.
func (l *Loss) Clone() (*Loss, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.ptr == nil {
		return nil, closedError("Clone")
	}
	var p *C.focal_loss
	if err := call("Clone", func() C.focal_status { return C.focal_loss_clone(l.ptr, &p) }); err != nil {
		return nil, err
	}
	return wrap(p, l.mode, l.reduction), nil
}

// Close destroys the context. It waits for running computations, may be
// called more than once, and always returns nil.
func (l *Loss) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ptr != nil {
		C.focal_loss_destroy(l.ptr)
		l.ptr = nil
		runtime.SetFinalizer(l, nil)
	}
	return nil
}

func closedError(op string) error {
	return fmt.Errorf("focal: %s: %w", op, ErrClosed)
}

// read runs f with the context under the shared lock.
func (l *Loss) read(op string, f func(p *C.focal_loss) C.focal_status) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.ptr == nil {
		return closedError(op)
	}
	return call(op, func() C.focal_status { return f(l.ptr) })
}

// write runs f with the context under the exclusive lock.
func (l *Loss) write(op string, f func(p *C.focal_loss) C.focal_status) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ptr == nil {
		return closedError(op)
	}
	return call(op, func() C.focal_status { return f(l.ptr) })
}

// SetGamma sets gamma: finite and >= 0; 0 is cross-entropy.
func (l *Loss) SetGamma(gamma float64) error {
	return l.write("SetGamma", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_gamma(p, C.double(gamma))
	})
}

// SetAlpha sets a scalar alpha, replacing an alpha vector.
func (l *Loss) SetAlpha(alpha float64) error {
	return l.write("SetAlpha", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_alpha(p, C.double(alpha))
	})
}

// SetAlphaVector sets a per-class alpha (copied); compute calls then need
// C == len(alpha).
func (l *Loss) SetAlphaVector(alpha []float64) error {
	if len(alpha) == 0 {
		// C would see NULL and report that instead of the empty vector.
		return &Error{Op: "SetAlphaVector", Status: StatusInvalidShape, Message: "the alpha vector is empty"}
	}
	return l.write("SetAlphaVector", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_alpha_vector(p, (*C.double)(ptr(alpha)), C.int64_t(len(alpha)))
	})
}

// ClearAlpha goes back to no alpha (alpha_t = 1).
func (l *Loss) ClearAlpha() error {
	return l.write("ClearAlpha", func(p *C.focal_loss) C.focal_status { return C.focal_loss_clear_alpha(p) })
}

// SetReduction sets how the losses are reduced; the default is ReductionMean.
func (l *Loss) SetReduction(r Reduction) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ptr == nil {
		return closedError("SetReduction")
	}
	err := call("SetReduction", func() C.focal_status {
		return C.focal_loss_set_reduction(l.ptr, C.focal_reduction(r))
	})
	if err == nil {
		l.reduction = r
	}
	return err
}

// SetIgnoreIndex sets the target value meaning "ignore this position"
// (index targets only).
func (l *Loss) SetIgnoreIndex(index int64) error {
	return l.write("SetIgnoreIndex", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_ignore_index(p, C.int64_t(index))
	})
}

// ClearIgnoreIndex removes the ignore index.
func (l *Loss) ClearIgnoreIndex() error {
	return l.write("ClearIgnoreIndex", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_clear_ignore_index(p)
	})
}

// SetInput says whether the input holds logits or probabilities.
func (l *Loss) SetInput(kind Input) error {
	return l.write("SetInput", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_input(p, C.focal_input(kind))
	})
}

// SetEpsilon sets the clipping bound for probabilities input, in (0, 0.5).
func (l *Loss) SetEpsilon(eps float64) error {
	return l.write("SetEpsilon", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_epsilon(p, C.double(eps))
	})
}

// SetLabelSmoothing sets label smoothing in [0, 1).
func (l *Loss) SetLabelSmoothing(ls float64) error {
	return l.write("SetLabelSmoothing", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_label_smoothing(p, C.double(ls))
	})
}

// SetVariant chooses FL, FL*, QFL, VFL or ASL.
func (l *Loss) SetVariant(v Variant) error {
	return l.write("SetVariant", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_variant(p, C.focal_variant(v))
	})
}

// SetBeta sets the FL* shift, finite.
func (l *Loss) SetBeta(beta float64) error {
	return l.write("SetBeta", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_beta(p, C.double(beta))
	})
}

// SetThreads sets the threads a compute call may use; 0 is the library's
// default. Results are bitwise identical for every value.
func (l *Loss) SetThreads(threads int) error {
	if threads != int(C.int(threads)) {
		return &Error{Op: "SetThreads", Status: StatusInvalidParameter,
			Message: fmt.Sprintf("threads = %d does not fit a C int", threads)}
	}
	return l.write("SetThreads", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_set_threads(p, C.int(threads))
	})
}

// Mode returns the mode the Loss was created with.
func (l *Loss) Mode() (Mode, error) {
	var m C.focal_mode
	err := l.read("Mode", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_mode(p, &m) })
	return Mode(m), err
}

// Gamma returns gamma.
func (l *Loss) Gamma() (float64, error) {
	var v C.double
	err := l.read("Gamma", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_gamma(p, &v) })
	return float64(v), err
}

// Alpha returns the alpha setting.
func (l *Loss) Alpha() (Alpha, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.ptr == nil {
		return Alpha{}, closedError("Alpha")
	}
	var count C.int64_t
	if err := call("Alpha", func() C.focal_status { return C.focal_loss_get_alpha_count(l.ptr, &count) }); err != nil {
		return Alpha{}, err
	}
	if count > 0 {
		v := make([]float64, int(count))
		err := call("Alpha", func() C.focal_status {
			return C.focal_loss_get_alpha_vector(l.ptr, (*C.double)(ptr(v)), count)
		})
		if err != nil {
			return Alpha{}, err
		}
		return Alpha{Kind: AlphaVector, Vector: v}, nil
	}
	var a C.double
	err := call("Alpha", func() C.focal_status { return C.focal_loss_get_alpha(l.ptr, &a) })
	if errors.Is(err, ErrIncompatible) {
		return Alpha{Kind: AlphaNone}, nil
	}
	if err != nil {
		return Alpha{}, err
	}
	return Alpha{Kind: AlphaScalar, Scalar: float64(a)}, nil
}

// Reduction returns the reduction.
func (l *Loss) Reduction() (Reduction, error) {
	var r C.focal_reduction
	err := l.read("Reduction", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_reduction(p, &r) })
	return Reduction(r), err
}

// IgnoreIndex returns the ignore index and whether one is set.
func (l *Loss) IgnoreIndex() (int64, bool, error) {
	var v C.int64_t
	err := l.read("IgnoreIndex", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_get_ignore_index(p, &v)
	})
	if errors.Is(err, ErrIncompatible) {
		return 0, false, nil
	}
	return int64(v), err == nil, err
}

// Input returns the input kind.
func (l *Loss) Input() (Input, error) {
	var v C.focal_input
	err := l.read("Input", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_input(p, &v) })
	return Input(v), err
}

// Epsilon returns the clipping bound for probabilities input.
func (l *Loss) Epsilon() (float64, error) {
	var v C.double
	err := l.read("Epsilon", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_epsilon(p, &v) })
	return float64(v), err
}

// LabelSmoothing returns the label smoothing.
func (l *Loss) LabelSmoothing() (float64, error) {
	var v C.double
	err := l.read("LabelSmoothing", func(p *C.focal_loss) C.focal_status {
		return C.focal_loss_get_label_smoothing(p, &v)
	})
	return float64(v), err
}

// Variant returns the variant.
func (l *Loss) Variant() (Variant, error) {
	var v C.focal_variant
	err := l.read("Variant", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_variant(p, &v) })
	return Variant(v), err
}

// Beta returns the FL* shift.
func (l *Loss) Beta() (float64, error) {
	var v C.double
	err := l.read("Beta", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_beta(p, &v) })
	return float64(v), err
}

// Threads returns the thread setting (0: the library's default).
func (l *Loss) Threads() (int, error) {
	var v C.int
	err := l.read("Threads", func(p *C.focal_loss) C.focal_status { return C.focal_loss_get_threads(p, &v) })
	return int(v), err
}

// PriorBias returns the final-layer bias that makes a sigmoid output start
// at prior (the paper's pi = 0.01): log(prior / (1 - prior)).
func PriorBias(prior float64) (float64, error) {
	var b C.double
	err := call("PriorBias", func() C.focal_status { return C.focal_prior_bias(C.double(prior), &b) })
	return float64(b), err
}

// ptr is the address of the first element, or nil for an empty slice.
func ptr[T any](s []T) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}
