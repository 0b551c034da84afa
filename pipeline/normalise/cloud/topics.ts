import { acceleratorTopic } from './accelerator.js';
import { energyTopic } from './energy.js';
import { ipTopic } from './ip.js';
import { storageTopic } from './storage.js';
import { vmTopic } from './vm.js';

/** The domain topics of cloud accounting, one per record type: what apel-message and caso-json write. */
export const cloudTopics: readonly string[] = [vmTopic, ipTopic, acceleratorTopic, storageTopic, energyTopic];
