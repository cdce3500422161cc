module libfocal.org/libfocal/bindings/go

go 1.19
