import { page } from '../../http/views/invitation-pages.ts';
import { html } from '../../mail/html.ts';

/** The pages of the browser install flow (multi-workspace mode); no script, like the accept page. */

/** The "Add to Slack" page; `url` is Slack's authorize URL with this browser's state. */
export function installPage(url: string): string {
  return page(
    'Add teamops to Slack',
    html`<h1>Add teamops to your Slack workspace</h1>
<p>teamops manages your SMS team's sub-accounts, balances and API keys from Slack with the
<code>/team</code> command.</p>
<p><a id="add-to-slack" href="${url}"><img alt="Add to Slack" height="40" width="139"
  src="https://platform.slack-edge.com/img/add_to_slack.png"
  srcset="https://platform.slack-edge.com/img/add_to_slack.png 1x, https://platform.slack-edge.com/img/add_to_slack@2x.png 2x"></a></p>
<p class="muted">Slack asks you to allow what teamops needs: the <code>/team</code> command, posting
replies, alerts and digests, direct messages, and reading member names and emails to link people
to their sub-accounts.</p>`,
  );
}

export function installedPage(workspace: string): string {
  return page(
    'teamops is installed',
    html`<h1>teamops is installed in ${workspace}</h1>
<p>Next, in any channel of ${workspace}, type</p>
<p class="key">/team setup &lt;team name&gt; [currency]</p>
<p>The first person to do so becomes the team's owner. <code>/team help</code> lists everything
else.</p>`,
  );
}

export function installFailedPage(message: string): string {
  return page(
    'Installation failed',
    html`<h1>teamops was not installed</h1>
<p id="reason">${message}</p>
<p><a href="/slack/install">Start the installation again</a></p>`,
  );
}
