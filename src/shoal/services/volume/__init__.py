"""The volume service (Cinder v3 semantics) on RBD.

- :class:`VolumeService`: volumes, snapshots and volume types in the database, Cinder's
  rules, policy (:mod:`.policy`) and quotas (:mod:`.quotas`); long operations as durable
  tasks (:class:`VolumeWork`, registered on the deployment's task runner).
- :class:`VolumeAdmin` (services, hosts, pools), :class:`VolumeTypes` (type
  administration), :class:`QuotaSets` (``os-quota-sets``, ``os-quota-class-sets``),
  :class:`VolumeMessages`, :class:`VolumeQos` (QoS specs), :class:`VolumeEncryption`
  (volume type encryption), :class:`VolumeGroups` (generic volume groups; their tasks:
  :class:`GroupWork`).
- :mod:`.driver`: the RBD backend driver (Cinder's ``RBDDriver`` semantics).
- :mod:`.records`: the frozen records the API's views render; :mod:`.models` the tables.
"""

from __future__ import annotations

from shoal.services.volume._admin import VolumeAdmin as VolumeAdmin
from shoal.services.volume._attach import VolumeAttachments as VolumeAttachments
from shoal.services.volume._bundle import VolumeServices as VolumeServices
from shoal.services.volume._encryption import EncryptionRecord as EncryptionRecord
from shoal.services.volume._encryption import EncryptionSpec as EncryptionSpec
from shoal.services.volume._encryption import VolumeEncryption as VolumeEncryption
from shoal.services.volume._group_work import GroupWork as GroupWork
from shoal.services.volume._groups import VolumeGroups as VolumeGroups
from shoal.services.volume._messages import VolumeMessages as VolumeMessages
from shoal.services.volume._qos import QosAssociation as QosAssociation
from shoal.services.volume._qos import QosSpecsRecord as QosSpecsRecord
from shoal.services.volume._qos import VolumeQos as VolumeQos
from shoal.services.volume._quota_sets import QuotaSets as QuotaSets
from shoal.services.volume._service import DEFAULT_TYPE_NAME as DEFAULT_TYPE_NAME
from shoal.services.volume._service import Backend as Backend
from shoal.services.volume._service import VolumeOptions as VolumeOptions
from shoal.services.volume._service import VolumeService as VolumeService
from shoal.services.volume._service import VolumeSource as VolumeSource
from shoal.services.volume._transfers import TransferRecord as TransferRecord
from shoal.services.volume._transfers import VolumeTransfers as VolumeTransfers
from shoal.services.volume._types import ALL_TYPES as ALL_TYPES
from shoal.services.volume._types import VolumeTypes as VolumeTypes
from shoal.services.volume._work import ImageData as ImageData
from shoal.services.volume._work import ImageSource as ImageSource
from shoal.services.volume._work import VolumeWork as VolumeWork

__all__ = [
    "ALL_TYPES",
    "DEFAULT_TYPE_NAME",
    "Backend",
    "EncryptionRecord",
    "EncryptionSpec",
    "GroupWork",
    "ImageData",
    "ImageSource",
    "QosAssociation",
    "QosSpecsRecord",
    "QuotaSets",
    "TransferRecord",
    "VolumeAdmin",
    "VolumeAttachments",
    "VolumeEncryption",
    "VolumeGroups",
    "VolumeMessages",
    "VolumeOptions",
    "VolumeQos",
    "VolumeService",
    "VolumeServices",
    "VolumeSource",
    "VolumeTransfers",
    "VolumeTypes",
    "VolumeWork",
]
