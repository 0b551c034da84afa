"""cASO's own record classes and SSM messenger write a queue: run with the caso venv's python.

stdin: {"path": QUEUE, "max_size": N, "records": [{"type": "cloud"|"ip"|"accelerator"|"storage", "fields": {...}}]}
Times in "fields" are epoch seconds (start_time, end_time, measure_time, volume_creation) and become
tz-aware UTC datetimes, so the host's time zone does not shift them. "wall_duration" and
"cpu_duration" are set after construction, as cASO's nova extractor does.
stdout: JSON list of the queue's element names after the push.
"""
import datetime
import json
import sys
import uuid

from oslo_config import cfg

import caso.messenger.ssm
import caso.record
from dirq.QueueSimple import QueueSimple

spec = json.load(sys.stdin)
cfg.CONF([], project='caso')
cfg.CONF.set_override('output_path', spec['path'], group='ssm')
cfg.CONF.set_override('max_size', spec.get('max_size', 100), group='ssm')

classes = {'cloud': caso.record.CloudRecord, 'ip': caso.record.IPRecord, 'accelerator': caso.record.AcceleratorRecord, 'storage': caso.record.StorageRecord}
times = ('start_time', 'end_time', 'measure_time', 'volume_creation')
records = []
for item in spec['records']:
    fields = dict(item['fields'])
    for key in times:
        if key in fields and fields[key] is not None:
            fields[key] = datetime.datetime.fromtimestamp(fields[key], tz=datetime.timezone.utc)
    if 'uuid' in fields:
        fields['uuid'] = uuid.UUID(fields['uuid'])
    after = {k: fields.pop(k) for k in ('wall_duration', 'cpu_duration') if k in fields}
    record = classes[item['type']](**fields)
    for key, value in after.items():
        setattr(record, key, value)
    records.append(record)

caso.messenger.ssm.SSMMessenger().push(records)
json.dump(list(QueueSimple(spec['path'])), sys.stdout)
