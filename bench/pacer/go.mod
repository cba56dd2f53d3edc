module kadra/bench/pacer

go 1.21
