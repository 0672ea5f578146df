/**
 * paysql-magic in JupyterLab: review cells placed once, and highlighted as SQL.
 *
 * Review cells. Every execute request of a notebook's kernel is marked `paysql_review` in its metadata, so the
 * kernel (paysql_magic/review.py) knows this frontend places review cells: instead of IPython's set_next_input
 * (which always inserts a cell) it sends an execute-reply payload `{source: "paysql_review", text}`. This plugin
 * reads it when the asking cell's reply arrives and looks at the live notebook (unsaved edits included):
 *   - no review cell right below the asking cell -> insert one there;
 *   - a review cell there -> leave it, whatever it holds (an analyst's edit is never duplicated or replaced),
 *     except one this plugin inserted and nobody edited since: its text is refreshed when the SQL changed.
 * A review cell is a code cell whose first line is `%%ask ... --sql`.
 *
 * Highlighting. An editor whose first line is `%%ask ... --sql` highlights its text as PostgreSQL (the `-- ask:`
 * line reads as a comment), and goes back to the notebook's language when the first line changes.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { EditorExtensionRegistry, IEditorExtensionRegistry, IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { Compartment, EditorState, Extension, Prec } from '@codemirror/state';
import { ViewPlugin } from '@codemirror/view';
import type { Kernel, KernelMessage } from '@jupyterlab/services';

const FLAG = 'paysql_review';
const PAYLOAD_SOURCE = 'paysql_review';
const SQL_MIME = 'text/x-pgsql';
const METADATA_KEY = 'paysql';
const REVIEW_LINE = /^%%ask\b[^\n]*?(?:^|\s)--sql\b/;
const PATCHED = Symbol('paysql-magic');

export function isReview(source: string): boolean {
  return REVIEW_LINE.test(source.replace(/^\s+/, ''));
}

/** A short, stable fingerprint of a cell's text (FNV-1a), kept in the metadata of cells this plugin inserts. */
export function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

interface IReviewPayload {
  source: string;
  text: string;
  question?: string | null;
  cell_id?: string | null;
}

/** Put the review cell `text` below the cell `cellId` of `panel`, or leave the one already there. */
export function place(panel: NotebookPanel, cellId: string, text: string): string {
  const model = panel.content.model;
  if (!model) {
    return 'no-model';
  }
  const cells = model.cells;
  let index = -1;
  for (let i = 0; i < cells.length; i++) {
    if (cells.get(i).id === cellId) {
      index = i;
      break;
    }
  }
  if (index === -1) {
    return 'no-cell';
  }
  const below = index + 1 < cells.length ? cells.get(index + 1) : null;
  if (below && below.type === 'code' && isReview(below.sharedModel.getSource())) {
    const source = below.sharedModel.getSource();
    const meta = below.getMetadata(METADATA_KEY) as { review?: string } | undefined;
    const untouched = !!meta && meta.review === fingerprint(source);
    if (untouched && source !== text) {
      below.sharedModel.setSource(text);
      below.setMetadata(METADATA_KEY, { review: fingerprint(text) });
      return 'refreshed';
    }
    return 'kept';
  }
  model.sharedModel.insertCell(index + 1, {
    cell_type: 'code',
    source: text,
    metadata: { trusted: false, [METADATA_KEY]: { review: fingerprint(text) } }
  });
  return 'inserted';
}

function panelsOf(tracker: INotebookTracker, kernel: Kernel.IKernelConnection): NotebookPanel[] {
  const panels: NotebookPanel[] = [];
  tracker.forEach(panel => {
    if (panel.sessionContext.session?.kernel === kernel) {
      panels.push(panel);
    }
  });
  return panels;
}

/** Mark the kernel's execute requests and read the review payload of their replies (once per connection). */
function patchKernel(tracker: INotebookTracker, kernel: Kernel.IKernelConnection | null | undefined): void {
  if (!kernel || (kernel as any)[PATCHED]) {
    return;
  }
  (kernel as any)[PATCHED] = true;
  const original = kernel.requestExecute.bind(kernel);
  kernel.requestExecute = ((
    content: KernelMessage.IExecuteRequestMsg['content'],
    disposeOnDone?: boolean,
    metadata?: any
  ) => {
    const future = original(content, disposeOnDone, { ...(metadata || {}), [FLAG]: '1' });
    const cellId: string | undefined = metadata?.cellId;
    future.done
      .then(reply => {
        const payloads = ((reply?.content as any)?.payload || []) as IReviewPayload[];
        for (const payload of payloads) {
          if (payload && payload.source === PAYLOAD_SOURCE && typeof payload.text === 'string') {
            const id = cellId || payload.cell_id;
            if (id) {
              for (const panel of panelsOf(tracker, kernel)) {
                place(panel, id, payload.text);
              }
            }
          }
        }
      })
      .catch(() => undefined); // a cancelled or failed execution places nothing
    return future;
  }) as typeof kernel.requestExecute;
}

/**
 * Review cells read as SQL: a CodeMirror extension of every editor that holds PostgreSQL's language while the
 * document's first line is `%%ask ... --sql`, at the highest precedence, so it wins over the kernel's language and
 * over extensions that set one for every cell (jupysql-plugin sets Python for whatever is not `%%sql`).
 */
function sqlForReviewCells(sql: Extension): Extension {
  const language = new Compartment();
  const none: Extension = [];
  const wanted = (text: string) => (isReview(text) ? sql : none);
  return [
    Prec.highest(language.of(none)),
    EditorState.transactionExtender.of(tr => {
      if (!tr.docChanged) {
        return null;
      }
      const next = wanted(tr.newDoc.sliceString(0, 500));
      return language.get(tr.startState) === next ? null : { effects: language.reconfigure(next) };
    }),
    // an editor created with a review cell's text: no transaction has run yet
    ViewPlugin.define(view => {
      const next = wanted(view.state.doc.sliceString(0, 500));
      if (language.get(view.state) !== next) {
        queueMicrotask(() => view.dispatch({ effects: language.reconfigure(next) }));
      }
      return {};
    })
  ];
}

function watch(tracker: INotebookTracker, panel: NotebookPanel): void {
  const session = panel.sessionContext;
  patchKernel(tracker, session.session?.kernel);
  session.kernelChanged.connect((_sender, change) => patchKernel(tracker, change.newValue));
  session.ready.then(() => patchKernel(tracker, session.session?.kernel)).catch(() => undefined);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'paysql-magic:review-cells',
  description: 'Places %%ask review cells once (never duplicated) and highlights them as SQL.',
  autoStart: true,
  requires: [INotebookTracker, IEditorExtensionRegistry, IEditorLanguageRegistry],
  activate: async (
    _app: JupyterFrontEnd,
    tracker: INotebookTracker,
    extensions: IEditorExtensionRegistry,
    languages: IEditorLanguageRegistry
  ) => {
    const postgres = await languages.getLanguage(SQL_MIME);
    if (postgres?.support) {
      const extension = sqlForReviewCells(postgres.support);
      extensions.addExtension(
        Object.freeze({
          name: 'paysql-magic:review-cell-sql',
          factory: () => EditorExtensionRegistry.createImmutableExtension(extension)
        })
      );
    }
    tracker.widgetAdded.connect((_sender, panel) => watch(tracker, panel));
    tracker.forEach(panel => watch(tracker, panel));
    // Emitted right before a cell's execute request is sent: whatever kernel the notebook has now is marked.
    NotebookActions.executionScheduled.connect((_sender, { notebook }) => {
      const panel = tracker.find(p => p.content === notebook);
      patchKernel(tracker, panel?.sessionContext.session?.kernel);
    });
  }
};

export default plugin;
