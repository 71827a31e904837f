"""CKKS, client side: parameters and keys through SEAL (tenseal.sealapi); encryption in numpy.

Parameters: N=4096 with one 43-bit prime (128-bit secure: SEAL allows 109 bits at N=4096), no key
switching at all, so the server needs no evaluation key. A block encrypts 4096 records column-packed:
ciphertext d holds dimension d of every record, two records per slot (real and imaginary part).
Ciphertexts are SEAL's (same encoding, NTT layout and equations; the tests decrypt ours with SEAL and
SEAL's with ours), produced batched in numpy because SEAL's Python binding can only hand
coefficients over through files. They leave as NTT-form coefficients, centred, in float64.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from encrypted_store.errors import KeyfileError, StoreError
from encrypted_store.ntt import Ntt, mulmod

N = 4096
PRIME_BITS = 43
SCALE_BITS = 24  # DB scale: scale x 2^query_bits x |slot| must stay below p/2
QUERY_BITS = 17  # plaintext query quantization
ENC_QUERY_BITS = 17  # encrypted query scale
RECORDS_PER_BLOCK = N  # N/2 slots x (real, imaginary)


def params_dict() -> dict[str, Any]:
    """Public parameters recorded in the key file and the store."""
    from tenseal import sealapi

    prime = sealapi.CoeffModulus.Create(N, [PRIME_BITS])[0].value()
    return {
        "scheme": "ckks",
        "poly_modulus_degree": N,
        "prime": int(prime),
        "scale_bits": SCALE_BITS,
        "query_bits": QUERY_BITS,
        "enc_query_bits": ENC_QUERY_BITS,
    }


def _scratch_root() -> str | None:
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    """A private (0700) temporary dir, in RAM where possible: SEAL's binding only does file I/O."""
    path = Path(tempfile.mkdtemp(prefix="pa-seal-", dir=_scratch_root()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _context(prime: int) -> Any:
    from tenseal import sealapi

    parms = sealapi.EncryptionParameters(sealapi.SCHEME_TYPE.CKKS)
    parms.set_poly_modulus_degree(N)
    moduli = sealapi.CoeffModulus.Create(N, [PRIME_BITS])
    if moduli[0].value() != prime:
        raise KeyfileError(
            "The store's CKKS parameters do not match this version.", "Create new keys for this version."
        )
    parms.set_coeff_modulus(moduli)
    return sealapi.SEALContext(parms, True, sealapi.SEC_LEVEL_TYPE.TC128)


_SECRET_TAG = b"NTT1"  # key file format of the CKKS secret: tag + N little-endian u64 (NTT form)


def seal_secret_ntt(key: Any) -> np.ndarray:
    """A SEAL SecretKey's NTT-form coefficients, read through the binding (no file)."""
    plain = key.data()
    return np.array([plain.data(i) for i in range(N)], dtype=np.int64)


def generate_secret_key(params: dict[str, Any]) -> bytes:
    """A fresh secret key from SEAL's KeyGenerator (uniform ternary), in the key file's format."""
    from tenseal import sealapi

    ctx = _context(params["prime"])
    return _SECRET_TAG + seal_secret_ntt(sealapi.KeyGenerator(ctx).secret_key()).astype("<u8").tobytes()


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def uniform_mod(p: int, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform integers in [0, p) from the OS CSPRNG (rejection sampling: no modulo bias)."""
    bits = p.bit_length()
    count = int(np.prod(shape))
    out = np.frombuffer(os.urandom(8 * count), dtype=np.uint64) & np.uint64((1 << bits) - 1)
    out = out.astype(np.int64)
    bad = np.flatnonzero(out >= p)
    while bad.size:
        fresh = np.frombuffer(os.urandom(8 * bad.size), dtype=np.uint64) & np.uint64((1 << bits) - 1)
        out[bad] = fresh.astype(np.int64)
        bad = bad[out[bad] >= p]
    return out.reshape(shape)


def uniform_from_seed(seed: bytes, shape: tuple[int, ...], p: int) -> np.ndarray:
    """Uniform integers in [0, p) expanded from a 32-byte seed with SHAKE-128 (rejection sampling);
    client and host compute the same values, so a ciphertext's uniform half travels as its seed."""
    import hashlib

    count = int(np.prod(shape))
    mask = np.uint64((1 << p.bit_length()) - 1)
    extra = 64
    while True:
        raw = np.frombuffer(hashlib.shake_128(seed).digest(8 * (count + extra)), dtype="<u8") & mask
        good = raw[raw < np.uint64(p)]
        if len(good) >= count:
            return good[:count].astype(np.int64).reshape(shape)
        extra *= 4


def small_error(shape: tuple[int, ...]) -> np.ndarray:
    """Centred binomial noise, eta = 21 (sigma 3.24, SEAL's default is a clipped normal with 3.2)."""
    raw = np.frombuffer(os.urandom(6 * int(np.prod(shape))), dtype=np.uint8).reshape(-1, 6)
    low5 = np.uint8(0x1F)
    plus = _POPCOUNT[raw[:, 0]] + _POPCOUNT[raw[:, 1]] + _POPCOUNT[raw[:, 2] & low5]
    minus = _POPCOUNT[raw[:, 3]] + _POPCOUNT[raw[:, 4]] + _POPCOUNT[raw[:, 5] & low5]
    return (plus - minus).reshape(shape)


class CkksKit:
    """CKKS for one secret key, in numpy: SEAL's encoding, NTT layout and decryption equation.

    Encryption is SEAL's symmetric one (c1 = a uniform, c0 = -a*s + e + m, NTT form), so SEAL's
    own decryptor opens these ciphertexts and this class opens SEAL's (checked in the tests).
    """

    def __init__(self, params: dict[str, Any], secret: bytes | None) -> None:
        self.params = params
        self.prime = int(params["prime"])
        self.scale = float(2 ** params["scale_bits"])
        self.ntt = Ntt(self.prime, N)
        exps = np.array([pow(3, i, 2 * N) for i in range(N // 2)], dtype=np.int64)
        self._slot_pos = (exps - 1) // 2  # slot i is the evaluation at zeta^(3^i)
        self._conj_pos = (2 * N - exps - 1) // 2
        k = np.arange(N)
        self._zeta = np.exp(1j * np.pi * k / N)
        self.s_ntt = self.s2_ntt = None
        self.prefetch = False  # set by callers that run encrypted queries repeatedly
        self._pool: dict[int, np.ndarray] = {}
        self._pool_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        if secret is not None:
            self.s_ntt = secret_ntt(params, secret)
            self.s2_ntt = mulmod(self.s_ntt, self.s_ntt, self.prime)

    def close(self) -> None:
        """Nothing to release; kept for symmetry with the backends."""

    def _need_key(self) -> np.ndarray:
        if self.s_ntt is None:
            raise StoreError("No secret key loaded.", "Unlock the keys first.")
        return self.s_ntt

    def encode(self, slots: np.ndarray, scale: float) -> np.ndarray:
        """(B, N/2) complex slot values -> (B, N) int64 plaintext coefficients (not reduced)."""
        spread = np.zeros((slots.shape[0], N), dtype=np.complex128)
        spread[:, self._slot_pos] = slots
        spread[:, self._conj_pos] = np.conj(slots)
        coeffs = (np.fft.fft(spread, axis=1) * np.conj(self._zeta)).real / N
        return np.rint(coeffs * scale).astype(np.int64)

    def decode(self, coeffs: np.ndarray) -> np.ndarray:
        """(B, N) centred coefficients -> (B, N/2) complex slot values (unscaled)."""
        evals = np.fft.ifft(coeffs * self._zeta, axis=1) * N
        return evals[:, self._slot_pos]

    def _encrypt(self, plain_ntt: np.ndarray, a: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """NTT-form plaintexts (B, N) in [0, p) -> (c0, c1), each (B, N) in [0, p)."""
        s, p = self._need_key(), self.prime
        a = uniform_mod(p, plain_ntt.shape) if a is None else a
        c0 = (plain_ntt - mulmod(a, np.broadcast_to(s, a.shape), p)) % p
        return c0, a

    def encrypt_block(self, vectors: np.ndarray) -> np.ndarray:
        """(n <= 4096, D) float32 -> (N, 2, D) float64 NTT coefficients (j, polynomial, dimension)."""
        n, dim = vectors.shape
        padded = np.zeros((RECORDS_PER_BLOCK, dim), dtype=np.float64)
        padded[:n] = vectors
        out = np.empty((N, 2, dim), dtype=np.float64)
        for start in range(0, dim, 64):  # bounded memory: 64 ciphertexts at a time
            cols = slice(start, min(dim, start + 64))
            slots = (padded[0::2, cols] + 1j * padded[1::2, cols]).T  # (b, N/2)
            plain = self.encode(slots, self.scale) + small_error((slots.shape[0], N))
            c0, c1 = self._encrypt(self.ntt.forward(plain % self.prime))
            out[:, 0, cols] = self.centred(c0).T
            out[:, 1, cols] = self.centred(c1).T
        return out

    def encrypt_broadcast(self, values: np.ndarray, scale: float) -> np.ndarray:
        """Each value in every slot (a constant polynomial), fresh ciphertexts: (D,) -> (D, 2, N) int64.

        A constant polynomial is constant in NTT form too, so this is a fresh encryption of zero plus
        the scaled value; the encryptions of zero are query-independent and come from `zeros()`.
        """
        c0, seed = self.encrypt_broadcast_seeded(values, scale)
        return np.stack([c0, uniform_from_seed(seed, c0.shape, self.prime)], axis=1)

    def encrypt_broadcast_seeded(self, values: np.ndarray, scale: float) -> tuple[np.ndarray, bytes]:
        """As `encrypt_broadcast`, with c1 given as its seed (`uniform_from_seed`): half the bytes."""
        p = self.prime
        zero, seed = self.zeros(len(values))
        constant = np.rint(np.asarray(values, dtype=np.float64) * scale).astype(np.int64) % p
        return (zero + constant[:, None]) % p, seed

    def _make_zeros(self, count: int) -> tuple[np.ndarray, bytes]:
        """(c0 (count, N), seed of c1): c1 = a is uniform from a fresh seed, as SEAL's seeded
        symmetric ciphertexts are; the seed travels instead of a."""
        seed = os.urandom(32)
        noise = self.ntt.forward(small_error((count, N)) % self.prime)
        c0, _a = self._encrypt(noise, uniform_from_seed(seed, (count, N), self.prime))
        return c0, seed

    def zeros(self, count: int) -> tuple[np.ndarray, bytes]:
        """`count` fresh encryptions of zero, each used once: from the pool when one is ready.

        With `prefetch` on, a background thread prepares the next set after each use (the offline
        half of an encrypted query); otherwise they are made here.
        """
        with self._pool_lock:
            ready = self._pool.pop(count, None)
        if self.prefetch:
            self._refill(count)
        return ready if ready is not None else self._make_zeros(count)

    def _refill(self, count: int) -> None:
        def work() -> None:
            made = self._make_zeros(count)
            with self._pool_lock:
                self._pool.setdefault(count, made)

        with self._pool_lock:
            if count in self._pool or (self._worker is not None and self._worker.is_alive()):
                return
            self._worker = threading.Thread(target=work, daemon=True, name="ckks-zeros")
            self._worker.start()

    def centred(self, residues: np.ndarray) -> np.ndarray:
        """Residues mod p -> float64 in (-p/2, p/2] (exact: p < 2^53)."""
        signed = residues.astype(np.int64)
        signed -= self.prime * (signed > self.prime // 2)
        return signed.astype(np.float64)

    def decrypt(self, cts: np.ndarray, divisor: float) -> np.ndarray:
        """(M, size 2 or 3, N) residues -> (M, N) slot values / divisor, in record order."""
        s, p = self._need_key(), self.prime
        c = cts.astype(np.int64)
        m = (c[:, 0] + mulmod(c[:, 1], np.broadcast_to(s, c[:, 1].shape), p)) % p
        if c.shape[1] == 3:
            m = (m + mulmod(c[:, 2], np.broadcast_to(self.s2_ntt, c[:, 2].shape), p)) % p
        z = self.decode(self.centred(self.ntt.inverse(m))) / divisor
        out = np.empty((len(c), N), dtype=np.float64)
        out[:, 0::2] = z.real
        out[:, 1::2] = z.imag
        return out


def secret_ntt(params: dict[str, Any], secret: bytes) -> np.ndarray:
    """The secret key's NTT-form coefficients from the key file's bytes."""
    if secret.startswith(_SECRET_TAG) and len(secret) == len(_SECRET_TAG) + 8 * N:
        values = np.frombuffer(secret, dtype="<u8", offset=len(_SECRET_TAG)).astype(np.int64)
        if np.all(values < int(params["prime"])):
            return values
    from tenseal import sealapi  # key files from before the tagged format: SEAL's own serialization

    ctx = _context(int(params["prime"]))
    key = sealapi.SecretKey()
    with _scratch() as tmp:
        path = tmp / "sk"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secret)
        try:
            key.load(ctx, str(path))
        except (ValueError, RuntimeError):
            raise KeyfileError(
                "The CKKS secret key is corrupt.", "Restore the key file from a backup."
            ) from None
    return seal_secret_ntt(key)
