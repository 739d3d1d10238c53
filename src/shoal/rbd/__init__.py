"""Block images on the object store, with librbd's API (``RBD``, ``Image``).

The embedded engine lives here; the Ceph backend (:mod:`shoal.rbd.ceph`) wraps the real
librbd behind the same names. Both implement the interface declared once in
:mod:`shoal.rbd._interface` (:class:`RbdImage`, :class:`RbdManager`, :class:`RbdLib`).
Constants have shoal's short names (``FEATURE_LAYERING``) and librbd's
(``RBD_FEATURE_LAYERING``), with librbd's values. :func:`is_zero` and :func:`rechunk` are
the byte helpers every mover of image data shares. Importing this package registers the
``rbd`` and ``lock`` object classes the embedded engine keeps its metadata with.
"""

from __future__ import annotations

from shoal.rbd import _cls as _cls  # registers the object classes
from shoal.rbd._blocks import ZERO_BLOCK_BYTES as ZERO_BLOCK_BYTES
from shoal.rbd._blocks import is_zero as is_zero
from shoal.rbd._blocks import nonzero_length as nonzero_length
from shoal.rbd._blocks import rechunk as rechunk
from shoal.rbd._errors import ArgumentOutOfRange as ArgumentOutOfRange
from shoal.rbd._errors import FunctionNotSupported as FunctionNotSupported
from shoal.rbd._errors import ImageBusy as ImageBusy
from shoal.rbd._errors import ImageExists as ImageExists
from shoal.rbd._errors import ImageHasSnapshots as ImageHasSnapshots
from shoal.rbd._errors import ImageNotFound as ImageNotFound
from shoal.rbd._errors import InvalidArgument as InvalidArgument
from shoal.rbd._errors import NoSpace as NoSpace
from shoal.rbd._errors import OperationNotSupported as OperationNotSupported
from shoal.rbd._errors import PermissionError as PermissionError
from shoal.rbd._errors import ReadOnlyImage as ReadOnlyImage
from shoal.rbd._features import FEATURE_DEEP_FLATTEN as FEATURE_DEEP_FLATTEN
from shoal.rbd._features import FEATURE_EXCLUSIVE_LOCK as FEATURE_EXCLUSIVE_LOCK
from shoal.rbd._features import FEATURE_FAST_DIFF as FEATURE_FAST_DIFF
from shoal.rbd._features import FEATURE_JOURNALING as FEATURE_JOURNALING
from shoal.rbd._features import FEATURE_LAYERING as FEATURE_LAYERING
from shoal.rbd._features import FEATURE_OBJECT_MAP as FEATURE_OBJECT_MAP
from shoal.rbd._features import FEATURE_STRIPINGV2 as FEATURE_STRIPINGV2
from shoal.rbd._features import FEATURES_DEFAULT as FEATURES_DEFAULT
from shoal.rbd._features import RBD_FEATURE_DATA_POOL as RBD_FEATURE_DATA_POOL
from shoal.rbd._features import RBD_FEATURE_DEEP_FLATTEN as RBD_FEATURE_DEEP_FLATTEN
from shoal.rbd._features import RBD_FEATURE_EXCLUSIVE_LOCK as RBD_FEATURE_EXCLUSIVE_LOCK
from shoal.rbd._features import RBD_FEATURE_FAST_DIFF as RBD_FEATURE_FAST_DIFF
from shoal.rbd._features import RBD_FEATURE_JOURNALING as RBD_FEATURE_JOURNALING
from shoal.rbd._features import RBD_FEATURE_LAYERING as RBD_FEATURE_LAYERING
from shoal.rbd._features import RBD_FEATURE_MIGRATING as RBD_FEATURE_MIGRATING
from shoal.rbd._features import RBD_FEATURE_OBJECT_MAP as RBD_FEATURE_OBJECT_MAP
from shoal.rbd._features import RBD_FEATURE_OPERATIONS as RBD_FEATURE_OPERATIONS
from shoal.rbd._features import RBD_FEATURE_STRIPINGV2 as RBD_FEATURE_STRIPINGV2
from shoal.rbd._features import RBD_FLAG_FAST_DIFF_INVALID as RBD_FLAG_FAST_DIFF_INVALID
from shoal.rbd._features import RBD_FLAG_OBJECT_MAP_INVALID as RBD_FLAG_OBJECT_MAP_INVALID
from shoal.rbd._features import RBD_LOCK_MODE_EXCLUSIVE as RBD_LOCK_MODE_EXCLUSIVE
from shoal.rbd._features import RBD_LOCK_MODE_SHARED as RBD_LOCK_MODE_SHARED
from shoal.rbd._features import feature_names as feature_names
from shoal.rbd._features import features_from_conf as features_from_conf
from shoal.rbd._features import parse_features as parse_features
from shoal.rbd._image import Image as Image
from shoal.rbd._interface import DiffCallback as DiffCallback
from shoal.rbd._interface import ImageOpener as ImageOpener
from shoal.rbd._interface import ProgressCallback as ProgressCallback
from shoal.rbd._interface import RbdFactory as RbdFactory
from shoal.rbd._interface import RbdImage as RbdImage
from shoal.rbd._interface import RbdLib as RbdLib
from shoal.rbd._interface import RbdManager as RbdManager
from shoal.rbd._options import RbdOptions as RbdOptions
from shoal.rbd._rbd import RBD as RBD

__all__ = [
    "FEATURES_DEFAULT",
    "FEATURE_DEEP_FLATTEN",
    "FEATURE_EXCLUSIVE_LOCK",
    "FEATURE_FAST_DIFF",
    "FEATURE_JOURNALING",
    "FEATURE_LAYERING",
    "FEATURE_OBJECT_MAP",
    "FEATURE_STRIPINGV2",
    "RBD",
    "RBD_FEATURE_DATA_POOL",
    "RBD_FEATURE_DEEP_FLATTEN",
    "RBD_FEATURE_EXCLUSIVE_LOCK",
    "RBD_FEATURE_FAST_DIFF",
    "RBD_FEATURE_JOURNALING",
    "RBD_FEATURE_LAYERING",
    "RBD_FEATURE_MIGRATING",
    "RBD_FEATURE_OBJECT_MAP",
    "RBD_FEATURE_OPERATIONS",
    "RBD_FEATURE_STRIPINGV2",
    "RBD_FLAG_FAST_DIFF_INVALID",
    "RBD_FLAG_OBJECT_MAP_INVALID",
    "RBD_LOCK_MODE_EXCLUSIVE",
    "RBD_LOCK_MODE_SHARED",
    "ZERO_BLOCK_BYTES",
    "ArgumentOutOfRange",
    "DiffCallback",
    "FunctionNotSupported",
    "Image",
    "ImageBusy",
    "ImageExists",
    "ImageHasSnapshots",
    "ImageNotFound",
    "ImageOpener",
    "InvalidArgument",
    "NoSpace",
    "OperationNotSupported",
    "PermissionError",
    "ProgressCallback",
    "RbdFactory",
    "RbdImage",
    "RbdLib",
    "RbdManager",
    "RbdOptions",
    "ReadOnlyImage",
    "feature_names",
    "features_from_conf",
    "is_zero",
    "nonzero_length",
    "parse_features",
    "rechunk",
]
