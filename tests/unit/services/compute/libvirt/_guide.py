"""The guide's secret.xml (the appendix's, verbatim) and its UUID, shared by the tests of
the secret store and of ``shoal virsh``."""

from __future__ import annotations

UUID = "457eb676-33da-42ec-9a8c-9293d545c337"
GUIDE_XML = f"""<secret ephemeral='no' private='no'>
  <uuid>{UUID}</uuid>
  <usage type='ceph'>
    <name>client.cinder secret</name>
  </usage>
</secret>
"""
