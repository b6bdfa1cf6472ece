// campaign_msgs.js: the translator campaign pages use. The page embeds its
// messages (campaign.* or lb.*) as JSON in #campaign-msgs; t(key, {n: 1})
// fills {n} and plural forms (i18n.js).
import { translator } from './i18n.js';

export const messages = () => translator('campaign-msgs');
