import type { AcceleratorRecord } from '../../../../connectors/sinks/apel/render/accelerator-json.js';
import type { VmRecord } from '../../../../connectors/sinks/apel/render/cloud-text.js';
import type { IpRecord } from '../../../../connectors/sinks/apel/render/ip-json.js';
import type { StorageRecord } from '../../../../connectors/sinks/apel/render/star-xml.js';

/** Records shaped like the decoded cloud.* Avro values, built from cASO's own test fixtures (caso/tests/conftest.py). */
export const s = (seconds: number): number => seconds * 1000;

export function vm(overrides: Partial<VmRecord> = {}): VmRecord {
  return {
    site_name: 'TEST-Site',
    cloud_compute_service: 'Fake Cloud Service',
    cloud_type: 'caso/5.2.2 (OpenStack)',
    vm_uuid: '721cf1db-0e0f-4c24-a5ea-cd75e0f303e8',
    machine_name: 'VM Name 1',
    local_user_id: 'a4519d7d-f60a-4908-9d63-7d9e17422188',
    local_group_id: '03b6a6c4-cf2b-48b9-82f1-69c52b9f30af',
    global_user_name: 'User DN',
    fqan: 'VO 1 FQAN',
    status: 'started',
    start_time: s(1684619946),
    end_time: s(1685051946),
    record_create_time: null,
    suspend_duration_seconds: null,
    wall_duration_seconds: 432000,
    cpu_duration_seconds: 3456000,
    cpu_count: 8,
    network_type: null,
    network_inbound: null,
    network_outbound: null,
    public_ip_count: 7,
    memory_mb: 16,
    disk_gb: 250,
    storage_record_id: null,
    image_id: 'b39a8ed9-e15d-4b71-ada2-daf88efbac0a',
    benchmark_type: null,
    benchmark_value: null,
    ...overrides,
  };
}

export function ip(overrides: Partial<IpRecord> = {}): IpRecord {
  return {
    site_name: 'TEST-Site',
    cloud_compute_service: 'Fake Cloud Service',
    cloud_type: 'caso/5.2.2 (OpenStack)',
    local_user: 'a4519d7d-f60a-4908-9d63-7d9e17422188',
    local_group: '03b6a6c4-cf2b-48b9-82f1-69c52b9f30af',
    global_user_name: 'User 1 DN',
    fqan: 'VO 1 FQAN',
    ip_version: 4,
    ip_count: 10,
    record_uuid: 'e3c5aeef-37b8-4332-ad9f-9d068f156dc2',
    measurement_time: s(1685051946),
    ...overrides,
  };
}

export function accelerator(overrides: Partial<AcceleratorRecord> = {}): AcceleratorRecord {
  return {
    site_name: 'TEST-Site',
    cloud_compute_service: 'Fake Cloud Service',
    cloud_type: 'caso/5.2.2 (OpenStack)',
    associated_record_type: 'cloud',
    associated_record: '99cf5d02-a573-46a1-b90d-0f7327126876',
    global_user_name: 'd4e547e6f298fe34389@foobar.eu',
    fqan: 'VO 1 FQAN',
    accelerator_type: 'GPU',
    model: 'Foobar A200',
    count: 3,
    cores: null,
    active_duration_seconds: null,
    available_duration_seconds: 5000,
    measurement_month: 6,
    measurement_year: 2022,
    benchmark_type: null,
    benchmark_value: null,
    ...overrides,
  };
}

export function storage(overrides: Partial<StorageRecord> = {}): StorageRecord {
  return {
    record_id: '5b2c8e1a-0000-4000-8000-000000000001',
    create_time: s(1704888000),
    storage_system: 'SITE-A',
    site: 'SITE-A',
    storage_share: null,
    storage_media: null,
    storage_class: null,
    file_count: null,
    directory_path: null,
    local_user: 'u1',
    local_group: 'p1',
    user_identity: null,
    group: 'vo.example.org',
    sub_group: null,
    role: null,
    group_attributes: [],
    start_time: s(1704801600),
    end_time: s(1704888000),
    resource_capacity_used: 10737418240,
    resource_capacity_allocated: null,
    logical_capacity_used: null,
    ...overrides,
  };
}
