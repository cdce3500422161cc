module libfocal.org/focal

go 1.19
