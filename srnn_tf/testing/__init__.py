"""What the tests and benchmarks check the package against: reference implementations, plain
per-time-step loops (`oracle`) and exact log-likelihoods of tiny models by quadrature
(`exact_loglik`), slow by design; and the tiny models themselves (`tiny`). Not used by the
package itself."""
