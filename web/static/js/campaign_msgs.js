// campaign_msgs.js: the translator campaign pages use. The page embeds its
// messages (campaign.* or lb.*) as JSON in #campaign-msgs; t(key, {n: 1})
// fills {n}. A missing key shows itself, never user data as HTML.
export function messages() {
  const box = document.getElementById('campaign-msgs');
  const all = box ? JSON.parse(box.textContent) : {};
  return (key, params = {}) => {
    let s = all[key] ?? key;
    for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  };
}
