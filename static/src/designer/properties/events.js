// @ts-check
// What the entries read from an input's event (typed once, so each handler stays one line).

/** The value of the input, select or textarea the event came from. @param {Event} e */
export const inputValue = (e) => /** @type {HTMLInputElement} */ (e.target).value;

/** Whether the checkbox the event came from is ticked. @param {Event} e */
export const inputChecked = (e) => /** @type {HTMLInputElement} */ (e.target).checked;
