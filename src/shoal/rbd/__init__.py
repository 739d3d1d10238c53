"""Block images on the object store, with librbd's API (``RBD``, ``Image``).

The embedded engine lives here; the Ceph backend wraps the real librbd behind
the same names. Importing this package registers the ``rbd`` and ``lock``
object classes the embedded engine keeps its metadata with.
"""

from __future__ import annotations

from shoal.rbd import _cls as _cls  # registers the object classes
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
from shoal.rbd._features import feature_names as feature_names
from shoal.rbd._features import features_from_conf as features_from_conf
from shoal.rbd._features import parse_features as parse_features
from shoal.rbd._image import RBD_LOCK_MODE_EXCLUSIVE as RBD_LOCK_MODE_EXCLUSIVE
from shoal.rbd._image import Image as Image
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
    "RBD_LOCK_MODE_EXCLUSIVE",
    "ArgumentOutOfRange",
    "FunctionNotSupported",
    "Image",
    "ImageBusy",
    "ImageExists",
    "ImageHasSnapshots",
    "ImageNotFound",
    "InvalidArgument",
    "NoSpace",
    "OperationNotSupported",
    "PermissionError",
    "RbdOptions",
    "ReadOnlyImage",
    "feature_names",
    "features_from_conf",
    "parse_features",
]
