import type {
  ActionsBlock,
  ActionsBlockElement,
  Button,
  ContextBlock,
  DividerBlock,
  HeaderBlock,
  InputBlock,
  InputBlockElement,
  KnownBlock,
  MrkdwnElement,
  PlainTextElement,
  PlainTextOption,
  SectionBlock,
  SectionBlockAccessory,
} from '@slack/types';

/** Slack's limits on what one surface may hold; more blocks and the whole call is refused. */
export const MAX_MESSAGE_BLOCKS = 50;
export const MAX_VIEW_BLOCKS = 100;
const MAX_SECTION_TEXT = 3_000;
const MAX_PLAIN_TEXT = 150;

/** User-supplied text shown in mrkdwn: `&`, `<` and `>` would otherwise become links or mentions. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function plain(text: string, max = MAX_PLAIN_TEXT): PlainTextElement {
  return { type: 'plain_text', text: clip(text, max), emoji: true };
}

export function mrkdwn(text: string): MrkdwnElement {
  return { type: 'mrkdwn', text: clip(text, MAX_SECTION_TEXT) };
}

export function header(text: string): HeaderBlock {
  return { type: 'header', text: plain(text) };
}

export function section(text: string, accessory?: SectionBlockAccessory, blockId?: string): SectionBlock {
  return {
    type: 'section',
    text: mrkdwn(text),
    ...(accessory && { accessory }),
    ...(blockId && { block_id: blockId }),
  };
}

export function fields(
  pairs: [label: string, value: string][],
  accessory?: SectionBlockAccessory,
): SectionBlock {
  return {
    type: 'section',
    fields: pairs.slice(0, 10).map(([label, value]) => mrkdwn(`*${label}*\n${value}`)),
    ...(accessory && { accessory }),
  };
}

export function context(...texts: string[]): ContextBlock {
  return { type: 'context', elements: texts.slice(0, 10).map(mrkdwn) };
}

export function divider(): DividerBlock {
  return { type: 'divider' };
}

export function actions(blockId: string, elements: ActionsBlockElement[]): ActionsBlock {
  return { type: 'actions', block_id: blockId, elements: elements.slice(0, 25) };
}

export function button(
  text: string,
  actionId: string,
  value?: string,
  style?: 'primary' | 'danger',
  confirm?: Button['confirm'],
): Button {
  return {
    type: 'button',
    text: plain(text, 75),
    action_id: actionId,
    ...(value !== undefined && { value }),
    ...(style && { style }),
    ...(confirm && { confirm }),
  };
}

export function option(text: string, value: string): PlainTextOption {
  return { text: plain(text, 75), value };
}

/** An input element before `input()` gives it its action id (Omit distributed over the union). */
export type InputElement = InputBlockElement extends infer E
  ? E extends unknown
    ? Omit<E, 'action_id'>
    : never
  : never;

/** A modal input whose block id and action id are both `id`, so a submission reads `values[id][id]`. */
export function input(
  id: string,
  label: string,
  element: InputElement,
  { optional = false, hint }: { optional?: boolean; hint?: string } = {},
): InputBlock {
  return {
    type: 'input',
    block_id: id,
    label: plain(label, 2_000),
    element: { ...element, action_id: id } as InputBlockElement,
    optional,
    ...(hint && { hint: plain(hint, 2_000) }),
  };
}

export function textInput(
  id: string,
  label: string,
  options: {
    optional?: boolean;
    hint?: string;
    placeholder?: string;
    initial?: string;
    multiline?: boolean;
  } = {},
): InputBlock {
  return input(
    id,
    label,
    {
      type: 'plain_text_input',
      ...(options.placeholder && { placeholder: plain(options.placeholder) }),
      ...(options.initial && { initial_value: options.initial }),
      ...(options.multiline && { multiline: true }),
    },
    options,
  );
}

export type Blocks = KnownBlock[];
