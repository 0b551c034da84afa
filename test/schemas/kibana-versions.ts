/**
 * The highest migration each saved-object type knows in Kibana 8.9–8.19 (read from Kibana's source):
 * Kibana refuses an object whose typeMigrationVersion is above its type's, and then the whole import.
 * Both Kibana file tests pin every shipped object to these, so a version Kibana refuses cannot pass.
 */
export const typeMigrationVersions: Record<string, string> = { 'index-pattern': '8.0.0', search: '8.0.0', lens: '8.9.0', dashboard: '8.7.0' };
