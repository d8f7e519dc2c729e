"""Reference implementations the tests and benchmarks check the package against: plain
per-time-step loops (`oracle`) and exact log-likelihoods of tiny models by quadrature
(`exact_loglik`). Slow by design; not used by the package itself."""
