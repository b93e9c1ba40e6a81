/**
 * The action ids and view callback ids shared by the presenters that put them on buttons and
 * modals and the listeners that answer them.
 */
export const ACTIONS = {
  approveRole: 'role_request_approve',
  denyRole: 'role_request_deny',
  approveCredit: 'credit_request_approve',
  denyCredit: 'credit_request_deny',
  confirmDelete: 'member_delete_confirm',
  cancelDelete: 'member_delete_cancel',
  listPage: 'member_list_page',
  homePage: 'home_page',
  homeRefresh: 'home_refresh',
  memberMenu: 'member_menu',
  /** A button that opens one of the modals; its value names which (see MODAL_OPENERS). */
  openModal: 'open_modal',
  topUp: 'low_balance_top_up',
} as const;

export const VIEWS = {
  menu: 'team_menu',
  create: 'member_create',
  invite: 'member_invite',
  money: 'member_money',
  autoRecharge: 'member_auto_recharge',
  logFilters: 'message_log_filters',
  deleteMember: 'member_delete',
  shownOnce: 'shown_once',
  result: 'result',
} as const;

/** The modals a menu or App Home button can open. */
export const MODAL_OPENERS = ['create', 'invite', 'credit', 'debit', 'autorecharge', 'logs'] as const;
export type ModalOpener = (typeof MODAL_OPENERS)[number];

/** What the overflow menu next to a member on App Home can do; its option values are `<choice>:<member id>`. */
export const MEMBER_MENU_CHOICES = [
  'credit',
  'debit',
  'autorecharge',
  'enable',
  'disable',
  'delete',
] as const;
export type MemberMenuChoice = (typeof MEMBER_MENU_CHOICES)[number];
