package cases

// Service is the cases service.
type Service struct {
	cfg Config
}
