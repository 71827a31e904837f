"""CKKS through SEAL (tenseal.sealapi), client side: key generation, block encryption, decryption.

Parameters: N=4096 with one 43-bit prime (128-bit secure: SEAL allows 109 bits at N=4096), no key
switching at all, so the server needs no evaluation keys. A block encrypts 4096 records column-packed:
ciphertext d holds dimension d of every record, two records per slot (real and imaginary part).
Ciphertexts leave this module as their NTT-form RNS coefficients, centred and stored as float64,
which is what the exact linear-algebra scan (`encrypted_store.scan`) works on.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import StoreError

N = 4096
PRIME_BITS = 43
SCALE_BITS = 24  # DB scale: scale x 2^query_bits x |slot| must stay below p/2
QUERY_BITS = 17  # plaintext query quantization
ENC_QUERY_BITS = 17  # encrypted query scale
RECORDS_PER_BLOCK = N  # N/2 slots x (real, imaginary)

_MAGIC = 0xA15E
_HDR = struct.Struct("<HBBBBHQ")


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
        raise StoreError("The store's CKKS parameters do not match this version.", "Re-run `assistant init`.")
    parms.set_coeff_modulus(moduli)
    return sealapi.SEALContext(parms, True, sealapi.SEC_LEVEL_TYPE.TC128)


def generate_secret_key(params: dict[str, Any]) -> bytes:
    from tenseal import sealapi

    ctx = _context(params["prime"])
    key = sealapi.KeyGenerator(ctx).secret_key()
    with _scratch() as tmp:
        key.save(str(tmp / "sk"))
        return (tmp / "sk").read_bytes()


def _parse(raw: bytes) -> tuple[bytes, int, np.ndarray]:
    """SEAL ciphertext file -> (parms_id, size, coefficients uint64 (size, N))."""
    magic, _hs, _maj, _min, compr, _r, total = _HDR.unpack_from(raw)
    if magic != _MAGIC:
        raise StoreError("A SEAL ciphertext has a bad header.", "Re-index; the store may be corrupt.")
    body = raw[16:total]
    if compr == 2:
        import zstandard

        body = zstandard.ZstdDecompressor().decompress(body, max_output_size=1 << 24)
    elif compr != 0:
        raise StoreError("Unsupported SEAL compression.", "Upgrade the assistant.")
    size = struct.unpack_from("<Q", body, 33)[0]
    coeffs = np.frombuffer(body, dtype="<u8", offset=97, count=size * N).reshape(size, N)
    return body[:32], size, coeffs


class CkksKit:
    """SEAL objects for one key; `secret` is None on a host that only needs the parameters."""

    def __init__(self, params: dict[str, Any], secret: bytes | None) -> None:
        from tenseal import sealapi

        self.params = params
        self.prime = int(params["prime"])
        self.scale = float(2 ** params["scale_bits"])
        self._s = sealapi
        self.ctx = _context(self.prime)
        self.encoder = sealapi.CKKSEncoder(self.ctx)
        self._tmp = Path(tempfile.mkdtemp(prefix="pa-seal-", dir=_scratch_root()))
        atexit.register(shutil.rmtree, self._tmp, True)
        self.encryptor = self.decryptor = None
        if secret is not None:
            key = sealapi.SecretKey()
            path = self._tmp / "sk"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secret)
            try:
                key.load(self.ctx, str(path))
            finally:
                path.unlink()
            self.encryptor = sealapi.Encryptor(self.ctx, key)
            self.decryptor = sealapi.Decryptor(self.ctx, key)
        self._parms_id = self._probe_parms_id()

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _probe_parms_id(self) -> bytes:
        from tenseal import sealapi

        keygen_ctx = sealapi.KeyGenerator(self.ctx)
        enc = sealapi.Encryptor(self.ctx, keygen_ctx.secret_key())
        ct = sealapi.Ciphertext()
        enc.encrypt_zero_symmetric(ct)
        return self._coeffs(ct)[0]

    def _coeffs(self, ct: Any) -> tuple[bytes, int, np.ndarray]:
        path = str(self._tmp / "ct")
        ct.save(path)
        with open(path, "rb") as fh:
            return _parse(fh.read())

    def centred(self, coeffs: np.ndarray) -> np.ndarray:
        """uint64 residues mod p -> float64 in (-p/2, p/2] (exact: p < 2^53)."""
        signed = coeffs.astype(np.int64)
        signed[signed > self.prime // 2] -= self.prime
        return signed.astype(np.float64)

    def encrypt_block(self, vectors: np.ndarray) -> np.ndarray:
        """(n <= 4096, D) float32 -> (N, 2, D) float64 NTT coefficients (j, polynomial, dimension)."""
        if self.encryptor is None:
            raise StoreError("No secret key loaded.", "Unlock the keys first.")
        n, dim = vectors.shape
        padded = np.zeros((RECORDS_PER_BLOCK, dim), dtype=np.float64)
        padded[:n] = vectors
        slots = padded[0::2] + 1j * padded[1::2]  # (N/2, D)
        out = np.empty((N, 2, dim), dtype=np.float64)
        pt = self._s.Plaintext()
        ct = self._s.Ciphertext()
        for d in range(dim):
            self.encoder.encode(slots[:, d].tolist(), self.scale, pt)
            self.encryptor.encrypt_symmetric(pt, ct)
            _pid, size, coeffs = self._coeffs(ct)
            out[:, :, d] = self.centred(coeffs).T
        return out

    def encrypt_broadcast(self, values: np.ndarray, scale: float) -> np.ndarray:
        """Each value in all slots, one fresh ciphertext each: (D,) -> (D, 2, N) uint64."""
        if self.encryptor is None:
            raise StoreError("No secret key loaded.", "Unlock the keys first.")
        out = np.empty((len(values), 2, N), dtype=np.uint64)
        pt = self._s.Plaintext()
        ct = self._s.Ciphertext()
        for d, value in enumerate(values):
            self.encoder.encode(float(value), scale, pt)
            self.encryptor.encrypt_symmetric(pt, ct)
            out[d] = self._coeffs(ct)[2]
        return out

    def decrypt(self, coeffs: np.ndarray, scale: float) -> np.ndarray:
        """Result ciphertexts (m, size, N) uint64 residues -> slot values (m, N) float64.

        Slot pairs come back as [real parts..., imaginary parts] interleaved to record order.
        """
        if self.decryptor is None:
            raise StoreError("No secret key loaded.", "Unlock the keys first.")
        m, size, _n = coeffs.shape
        out = np.empty((m, N), dtype=np.float64)
        path = str(self._tmp / "res")
        ct = self._s.Ciphertext()
        pt = self._s.Plaintext()
        head = self._parms_id + struct.pack("<BQQQdQ", 1, size, N, 1, scale, 1)
        inner = _HDR.pack(_MAGIC, 16, 4, 3, 0, 0, 24 + 8 * size * N)
        for i in range(m):
            body = head + inner + struct.pack("<Q", size * N) + np.ascontiguousarray(coeffs[i]).tobytes()
            with open(path, "wb") as fh:
                fh.write(_HDR.pack(_MAGIC, 16, 4, 3, 0, 0, 16 + len(body)) + body)
            ct.load(self.ctx, path)
            self.decryptor.decrypt(ct, pt)
            z = np.asarray(self.encoder.decode_complex(pt))
            out[i, 0::2] = z.real
            out[i, 1::2] = z.imag
        return out
