#!/usr/bin/env python3
"""Write Tally's apel-message and caso-json fixtures with cASO's own record classes and SSM messenger.

    python generate_fixtures.py OUTPUT_DIR

needs a Python where `import caso` works (pip install caso). It writes OUTPUT_DIR/apel-message/*
(the messages exactly as cASO's SSMMessenger puts them into its dirq queue, plus a few shapes cASO
5 no longer writes: a v0.2 header, AccUUID, a StAR record from APEL's tests, a bad record among
good ones) and OUTPUT_DIR/caso-json/*.ndjson (one `model_dump_json(by_alias=True,
exclude_none=True)` record per line). Everything is deterministic: fixed times, fixed UUIDs, TZ=UTC
and naive datetimes, as cASO's extractors make them. test/interop/caso/fixtures.test.ts runs this
and compares the output with the committed fixtures.
"""

import datetime
import json
import os
import sys
import tempfile
import time
import uuid

os.environ["TZ"] = "UTC"
time.tzset()

import dirq.QueueSimple  # noqa: E402
from oslo_config import cfg  # noqa: E402

import caso.messenger.ssm  # noqa: E402
import caso.record  # noqa: E402

CONF = cfg.CONF
SITE = "CESGA-CLOUD"
SERVICE = "CESGA-CLOUD-OpenStack"
NOW = datetime.datetime(2024, 3, 20, 12, 0, 0)
LATER = datetime.datetime(2024, 3, 21, 12, 0, 0)
PROJECT_A = "6f1e0b5c2a0d4c5e9b3f7a8d1c2e3f4a"
PROJECT_B = "0a9b8c7d6e5f40312233445566778899"
USER_A = "2b6c1f0e8d9a4b7c9e0f1a2b3c4d5e6f"
USER_B = "9f8e7d6c5b4a43219876543210fedcba"
RUNNING_VM = uuid.UUID("0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11")


def cloud_records(now, wall_running):
    """The VMs of one cASO run at `now`: the running VM's durations are cumulative since it started."""
    started = datetime.datetime(2024, 3, 18, 8, 30, 0)
    running = caso.record.CloudRecord(
        uuid=RUNNING_VM,
        name="vm-été-Ωmega",
        user_id=USER_A,
        user_dn="José Müller",
        group_id=PROJECT_A,
        fqan="/vo.access.egi.eu/Role=NULL/Capability=NULL",
        status="started",
        image_id="b39a8ed9-e15d-4b71-ada2-daf88efbac0a",
        public_ip_count=1,
        cpu_count=4,
        memory=8192,
        disk=80,
        benchmark_type="HEPSPEC06",
        benchmark_value="10.5",
        site_name=SITE,
        compute_service=SERVICE,
        start_time=started,
        end_time=None,
    )
    running.wall_duration = wall_running
    running.cpu_duration = wall_running * 4
    completed = caso.record.CloudRecord(
        uuid=uuid.UUID("a53738e1-13eb-4047-800c-067d14ce3d22"),
        name="worker-2",
        user_id=USER_B,
        user_dn="ana.garcia",
        group_id=PROJECT_B,
        fqan="vo.example.org",
        status="completed",
        image_id="7d1f4c1a-5b83-4f51-a0f5-6c4f2f0e0a11",
        cpu_count=2,
        memory=4096,
        disk=40,
        site_name=SITE,
        compute_service=SERVICE,
        start_time=datetime.datetime(2024, 3, 1, 0, 0, 0),
        end_time=datetime.datetime(2024, 3, 5, 6, 0, 0),
    )
    never_ran = caso.record.CloudRecord(
        uuid=uuid.UUID("1f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c12"),
        name="vm2",
        user_id=USER_B,
        group_id=PROJECT_B,
        fqan="vo.example.org",
        status="completed",
        cpu_count=0,
        memory=0,
        disk=0,
        site_name=SITE,
        compute_service=SERVICE,
        start_time=datetime.datetime(2024, 3, 10, 9, 0, 0),
        end_time=datetime.datetime(2024, 3, 10, 9, 0, 0),
    )
    suspended = caso.record.CloudRecord(
        uuid=uuid.UUID("5c50720e-a653-4d70-9b0e-d4388687fcbc"),
        name="db-1",
        user_id=USER_A,
        user_dn="José Müller",
        group_id=PROJECT_A,
        fqan="/vo.access.egi.eu/biomed/Role=VM-Manager",
        status="suspended",
        cpu_count=1,
        memory=2048,
        disk=20,
        suspend_duration=5400,
        site_name=SITE,
        compute_service=SERVICE,
        start_time=datetime.datetime(2024, 3, 19, 0, 0, 0),
        end_time=None,
    )
    suspended.wall_duration = 37800
    suspended.cpu_duration = 37800
    return [running, completed, never_ran, suspended]


def ip_records(now):
    return [
        caso.record.IPRecord(
            uuid=uuid.UUID("e3c5aeef-37b8-4332-ad9f-9d068f156dc2").hex,
            user_id=None,
            user_dn=None,
            group_id=PROJECT_A,
            fqan="/vo.access.egi.eu/Role=NULL/Capability=NULL",
            ip_version=4,
            public_ip_count=3,
            site_name=SITE,
            compute_service=SERVICE,
            measure_time=now,
        ),
        caso.record.IPRecord(
            uuid=uuid.UUID("9a0c4f1e-2d3b-4c5d-8e7f-8a9b0c1d2e3f").hex,
            user_id=None,
            user_dn=None,
            group_id=PROJECT_B,
            fqan="vo.example.org",
            ip_version=6,
            public_ip_count=12,
            site_name=SITE,
            compute_service=SERVICE,
            measure_time=now,
        ),
    ]


def accelerator_records():
    return [
        caso.record.AcceleratorRecord(
            uuid=RUNNING_VM,
            user_dn="José Müller",
            fqan="/vo.access.egi.eu/Role=NULL/Capability=NULL",
            count=2,
            available_duration=185400,
            measurement_month=3,
            measurement_year=2024,
            accelerator_type="GPU",
            model="NVIDIA Tesla V100",
            site_name=SITE,
            compute_service=SERVICE,
        ),
        caso.record.AcceleratorRecord(
            uuid=uuid.UUID("a53738e1-13eb-4047-800c-067d14ce3d22"),
            user_dn="ana.garcia",
            fqan="vo.example.org",
            count=1,
            available_duration=367200,
            measurement_month=3,
            measurement_year=2024,
            accelerator_type="GPU",
            model="AMD MI210",
            benchmark_value=1.5,
            benchmark_type="gpu-hepscore",
            site_name=SITE,
            compute_service=SERVICE,
        ),
    ]


def storage_records(now):
    in_use = caso.record.StorageRecord(
        uuid=uuid.UUID("5b2c8e1a-0000-4000-8000-000000000001"),
        name="data-vol",
        user_id=USER_A,
        user_dn="José Müller",
        group_id=PROJECT_A,
        fqan="/vo.access.egi.eu/Role=NULL/Capability=NULL",
        active_duration=86400,
        attached_duration=43200.5,
        attached_to=str(RUNNING_VM),
        status="in-use",
        capacity=100,
        site_name=SITE,
        compute_service=SERVICE,
        start_time=now - datetime.timedelta(days=1),
        measure_time=now + datetime.timedelta(microseconds=654321),
        volume_creation=datetime.datetime(2024, 1, 2, 3, 4, 5),
    )
    available = caso.record.StorageRecord(
        uuid=uuid.UUID("5b2c8e1a-0000-4000-8000-000000000002"),
        name="scratch",
        user_id=USER_B,
        group_id=PROJECT_B,
        fqan="vo.example.org",
        active_duration=86400,
        status="available",
        capacity=10,
        site_name=SITE,
        compute_service=SERVICE,
        start_time=now - datetime.timedelta(days=1),
        measure_time=now,
        volume_creation=datetime.datetime(2024, 3, 1, 0, 0, 0),
    )
    return [in_use, available]


def energy_records():
    return [
        caso.record.EnergyRecord(
            exec_unit_id=RUNNING_VM,
            start_exec_time="2024-03-20T11:00:00Z",
            end_exec_time="2024-03-20T12:00:00Z",
            energy_wh=42.5,
            work=338.82,
            efficiency=1.0,
            wall_clock_time_s=3600,
            cpu_duration_s=14400,
            suspend_duration_s=0,
            cpu_normalization_factor=1.0,
            exec_unit_finished=0,
            status="active",
            owner="/vo.access.egi.eu/Role=NULL/Capability=NULL",
            site_name=SITE,
            compute_service=SERVICE,
        ),
        caso.record.EnergyRecord(
            exec_unit_id=uuid.UUID("a53738e1-13eb-4047-800c-067d14ce3d22"),
            start_exec_time="2024-03-05T05:00:00Z",
            end_exec_time="2024-03-05T06:00:00Z",
            energy_wh=12.25,
            work=587.76,
            efficiency=1.0,
            wall_clock_time_s=3600,
            cpu_duration_s=7200,
            suspend_duration_s=0,
            cpu_normalization_factor=2.7,
            exec_unit_finished=1,
            status="deleted",
            owner="vo.example.org",
            site_name=SITE,
            compute_service=SERVICE,
        ),
    ]


def ssm_messages(records, max_size=100):
    """What cASO's SSM messenger writes into its outgoing dirq queue for `records`, in queue order."""
    with tempfile.TemporaryDirectory() as path:
        CONF.set_override("output_path", path, group="ssm")
        CONF.set_override("max_size", max_size, group="ssm")
        caso.messenger.ssm.SSMMessenger().push(records)
        queue = dirq.QueueSimple.QueueSimple(path)
        messages = []
        for name in queue:
            if queue.lock(name):
                with open(queue.get_path(name), "rb") as element:
                    messages.append(element.read().decode("utf-8"))
                queue.remove(name)
        return messages


def v02_message(records):
    """A cloud message as cASO <= 3.0.0's SSMMessengerV02 wrote it: v0.2 keys in field order, `%%` after each record."""
    v02_keys = [
        "VMUUID", "SiteName", "MachineName", "LocalUserId", "LocalGroupId", "FQAN", "Status", "StartTime", "EndTime",
        "SuspendDuration", "WallDuration", "CpuDuration", "CpuCount", "NetworkType", "NetworkInbound", "NetworkOutbound",
        "Memory", "Disk", "StorageRecordId", "ImageId", "CloudType", "GlobalUserName",
    ]
    text = "APEL-cloud-message: v0.2\n"
    for record in records:
        fields = json.loads(record.model_dump_json(by_alias=True, exclude_none=True))
        fields["CloudType"] = "caso/3.0.0 (OpenStack)"
        if fields.get("EndTime") == 0:
            del fields["EndTime"]  # cASO < 5 left out the end of a running VM
        text += "".join(f"{key}: {fields[key]}\n" for key in v02_keys if key in fields) + "%%\n"
    return text + "\n"


def with_bad_record(message):
    """cASO's cloud message with its second record broken: a decimal Memory and a negative WallDuration."""
    records = message.split("\n%%\n")
    records[1] = records[1].replace("Memory: 4096", "Memory: 4096.0").replace("WallDuration: 367200", "WallDuration: -367200")
    return "\n%%\n".join(records)


def with_bad_ip_record(message):
    body = json.loads(message)
    body["UsageRecords"].insert(1, dict(body["UsageRecords"][0], IPVersion=5, IPCount=-1))
    return json.dumps(body)


def renamed(message, old, new):
    body = json.loads(message)
    body["UsageRecords"] = [{(new if key == old else key): value for key, value in record.items()} for record in body["UsageRecords"]]
    return json.dumps(body)


# StAR as APEL's own tests write it (apel/apel test/test_star_parser.py): group attributes, tape media, no cASO extras
STAR_FROM_APEL = """<?xml version="1.0" encoding="UTF-8"?>
<sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord">
  <sr:StorageUsageRecord>
    <sr:RecordIdentity sr:createTime="2016-06-09T09:42:15Z" sr:recordId="c698c8b6-0a24-4a8e-b2d9-5f8a3a0c2f6b"/>
    <sr:StorageSystem>srm.grid.example.ac.uk</sr:StorageSystem>
    <sr:Site>EXAMPLE-SITE</sr:Site>
    <sr:StorageShare>atlasscratchdisk</sr:StorageShare>
    <sr:StorageMedia>disk</sr:StorageMedia>
    <sr:FileCount>346298</sr:FileCount>
    <sr:SubjectIdentity>
      <sr:Group>atlas</sr:Group>
      <sr:GroupAttribute sr:attributeType="subgroup">uk</sr:GroupAttribute>
      <sr:GroupAttribute sr:attributeType="role">production</sr:GroupAttribute>
      <sr:GroupAttribute sr:attributeType="authority">/C=UK/O=eScience/CN=voms.example.ac.uk</sr:GroupAttribute>
    </sr:SubjectIdentity>
    <sr:StartTime>2016-06-08T09:42:15Z</sr:StartTime>
    <sr:EndTime>2016-06-09T09:42:15Z</sr:EndTime>
    <sr:ResourceCapacityUsed>26770352879563</sr:ResourceCapacityUsed>
    <sr:ResourceCapacityAllocated>30000000000000</sr:ResourceCapacityAllocated>
    <sr:LogicalCapacityUsed>26770352879563</sr:LogicalCapacityUsed>
  </sr:StorageUsageRecord>
  <sr:StorageUsageRecord>
    <sr:RecordIdentity sr:createTime="2019-08-06T06:46:11" sr:recordId=" rad_tape_20190219T054505Z"/>
    <sr:StorageSystem>srm.grid.somewhere</sr:StorageSystem>
    <sr:Site>MATRIX</sr:Site><sr:StorageMedia>tape</sr:StorageMedia>
    <sr:SubjectIdentity><sr:Group>projects</sr:Group>
    <sr:GroupAttribute sr:attributeType="subgroup">rad</sr:GroupAttribute>
    </sr:SubjectIdentity>
    <sr:StartTime>2019-02-18T05:45:03Z</sr:StartTime>
    <sr:EndTime>2019-02-19T05:45:05Z</sr:EndTime>
    <sr:ResourceCapacityUsed>9127543637338</sr:ResourceCapacityUsed>
  </sr:StorageUsageRecord>
</sr:StorageUsageRecords>
"""

# The Public IP message as APEL's draft parser (PR #226) wants it: "v0.2", LocalUser and GlobalUserName given
IP_FROM_APEL = {
    "Type": "APEL Public IP message",
    "Version": "v0.2",
    "UsageRecords": [
        {"MeasurementTime": 1536070129, "SiteName": "TEST-SITE", "CloudComputeService": "TEST-CLOUD", "CloudType": "caso/1.1.1 (OpenStack)", "LocalUser": "User1", "LocalGroup": "Group1", "GlobalUserName": "GlobalUser1", "FQAN": "FQAN1", "IPVersion": 6, "IPCount": 12},
        {"MeasurementTime": 1536070137, "SiteName": "TEST-SITE", "CloudComputeService": "TEST-CLOUD", "CloudType": "caso/1.1.1 (OpenStack)", "LocalUser": "User1", "LocalGroup": "Group1", "GlobalUserName": "GlobalUser1", "FQAN": "FQAN1", "IPVersion": 4, "IPCount": 2},
    ],
}


def main(output):
    apel = os.path.join(output, "apel-message")
    caso_json = os.path.join(output, "caso-json")
    os.makedirs(apel, exist_ok=True)
    os.makedirs(caso_json, exist_ok=True)

    first_run = cloud_records(NOW, wall_running=185400)
    second_run = cloud_records(LATER, wall_running=271800)[:1]
    ips, accelerators, volumes, energy = ip_records(NOW), accelerator_records(), storage_records(NOW), energy_records()
    cloud, ip, accelerator, storage = ssm_messages(first_run + ips + accelerators + volumes)
    (cloud_again,) = ssm_messages(second_run)

    files = {
        "cloud-v0.4.txt": cloud,
        "cloud-v0.4-second-run.txt": cloud_again,
        "cloud-v0.2.txt": v02_message(first_run[:2]),
        "cloud-bad-record.txt": with_bad_record(cloud),
        "ip.json": ip,
        "ip-bad-record.json": with_bad_ip_record(ip),
        "ip-apel-v0.2.json": json.dumps(IP_FROM_APEL),
        "accelerator.json": accelerator,
        "accelerator-accuuid.json": renamed(accelerator, "AssociatedRecord", "AccUUID"),
        "storage.xml": storage,
        "storage-apel.xml": STAR_FROM_APEL,
        # cASO's greendigit_cim messenger body; its SSM messenger refuses energy records
        "energy.json": json.dumps([json.loads(r.model_dump_json(by_alias=True, exclude_none=True)) for r in energy]),
        "energy-envelope.json": json.dumps({"Type": "APEL-energy-message", "Version": "0.1", "UsageRecords": [json.loads(r.model_dump_json(by_alias=True, exclude_none=True)) for r in energy]}),
    }
    for name, text in files.items():
        with open(os.path.join(apel, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)

    lines = {
        "cloud.ndjson": first_run + second_run,
        "ip.ndjson": ips,
        "accelerator.ndjson": accelerators,
        "storage.ndjson": volumes,
        "energy.ndjson": energy,
    }
    for name, records in lines.items():
        with open(os.path.join(caso_json, name), "w", encoding="utf-8", newline="") as f:
            f.write("".join(r.model_dump_json(by_alias=True, exclude_none=True) + "\n" for r in records))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    CONF([], project="caso")
    main(sys.argv[1])
