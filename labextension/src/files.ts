/**
 * Which of the person's files the Flux cluster sees (GET cluster's `files`,
 * from FLUX_HUB_PATHS; see docs/server-extension-api.md), and what the panel
 * says about a working directory or a script it cannot see. The server checks
 * every working directory again: these only spare the person a form that can
 * never be accepted.
 */

/** A folder the cluster sees. */
export interface ISharedFolder {
  /** As this server (the lab) sees it: absolute. */
  lab: string;
  /** As the cluster sees it: absolute. */
  cluster: string;
  /** Where the file browser shows it ("" everywhere); null when it does not. */
  browser: string | null;
}

export interface IFilesInfo {
  /** Anything shared at all. */
  shared: boolean;
  /** One machine: every path is the cluster's too. */
  same_filesystem: boolean;
  /** The shared folders, the person's own first; null on one filesystem. */
  folders: ISharedFolder[] | null;
}

/**
 * Why no script can run from the file browser when nothing is shared, and
 * where the docs are: within the 140 characters a JupyterLab notification
 * shows before it cuts the rest.
 */
export const NO_STORAGE_SCRIPT =
  'Scripts cannot run as Flux jobs here: the cluster cannot see your files ' +
  "(no shared storage; flux-hub docs: 'Your files on the cluster').";

/** The line under the working directory when nothing is shared. */
export const NO_STORAGE_HINT =
  'The cluster cannot see your files here; the job starts in your folder on the cluster.';

/** As the server says it (flux_hub/paths.py NoSharedStorage). */
export const NO_STORAGE =
  'The Flux cluster cannot see your files: no shared storage is configured ' +
  "(see examples/kubernetes/README.md, 'Your files on the cluster').";

/** The files info of a cluster summary, or null when it says nothing usable. */
export function filesOf(summary: unknown): IFilesInfo | null {
  const files = (summary as { files?: unknown } | null)?.files as
    IFilesInfo | undefined;
  if (!files || typeof files !== 'object') {
    return null;
  }
  if (files.same_filesystem === true) {
    return { shared: true, same_filesystem: true, folders: null };
  }
  if (!Array.isArray(files.folders)) {
    return null;
  }
  return {
    shared: files.folders.length > 0,
    same_filesystem: false,
    folders: files.folders
  };
}

/**
 * A POSIX path with "." and ".." worked out and no repeated or trailing
 * slash; a relative one that leaves its start keeps its leading "..".
 */
export function normalize(path: string): string {
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (!part || part === '.') {
      continue;
    }
    if (part === '..') {
      if (parts.length && parts[parts.length - 1] !== '..') {
        parts.pop();
      } else if (!absolute) {
        parts.push('..');
      }
      continue;
    }
    parts.push(part);
  }
  return (absolute ? '/' : '') + parts.join('/');
}

/** Whether `path` is `folder` or in it (both normalized, both absolute or both relative). */
function inFolder(path: string, folder: string): boolean {
  if (folder === '' || folder === '/') {
    return true;
  }
  return path === folder || path.startsWith(`${folder}/`);
}

/** "/home/jovyan, /data": the folders the cluster sees, as the lab names them. */
export function describeFolders(files: IFilesInfo): string {
  return (files.folders ?? []).map(folder => folder.lab).join(', ');
}

/**
 * Whether the cluster sees the file browser's `path` (relative to the
 * server's root): true on one filesystem, false with nothing shared.
 */
export function browserShared(path: string, files: IFilesInfo | null): boolean {
  if (!files || files.same_filesystem) {
    return true;
  }
  const clean = normalize(path);
  return (files.folders ?? []).some(
    folder =>
      folder.browser !== null && inFolder(clean, normalize(folder.browser))
  );
}

/**
 * Why the working directory `path` (absolute on this server, or relative to
 * its root, as the form takes it) cannot be used, in one line; null when it
 * can, or when only the server can tell (a relative path above the root).
 */
export function workdirRefusal(
  path: string,
  files: IFilesInfo | null
): string | null {
  const text = path.trim();
  if (!text || !files || files.same_filesystem) {
    return null;
  }
  if (!files.shared) {
    return NO_STORAGE;
  }
  const clean = normalize(text);
  const folders = files.folders ?? [];
  if (clean.startsWith('/')) {
    // The cluster's own path of a shared folder is taken as it is.
    if (
      folders.some(
        folder =>
          inFolder(clean, normalize(folder.lab)) ||
          inFolder(clean, normalize(folder.cluster))
      )
    ) {
      return null;
    }
  } else if (clean === '..' || clean.startsWith('../')) {
    return null;
  } else if (browserShared(clean, files)) {
    return null;
  }
  // As the server words it (flux_hub/paths.py PathMap.describe)
  const where = folders
    .map(folder => `${folder.lab} (there: ${folder.cluster})`)
    .join(', ');
  return `${text} is not in a folder the Flux cluster can see: only ${where}.`;
}

/**
 * Why the script at the file browser's `path` cannot run as a Flux job, in
 * one line; null when the cluster sees it (or the panel cannot tell).
 */
export function scriptRefusal(
  path: string,
  files: IFilesInfo | null
): string | null {
  if (!files || files.same_filesystem) {
    return null;
  }
  if (!files.shared) {
    return NO_STORAGE_SCRIPT;
  }
  if (browserShared(path, files)) {
    return null;
  }
  const name = path.split('/').pop();
  return `${name} cannot run as a Flux job: the cluster sees only ${describeFolders(files)}. Move it there first.`;
}

/** The line under the working directory: what an empty one means here (null on one machine). */
export function workdirHint(files: IFilesInfo | null): string | null {
  if (!files || files.same_filesystem) {
    return null;
  }
  if (!files.shared) {
    return NO_STORAGE_HINT;
  }
  return `The cluster sees only ${describeFolders(files)}; left empty, the job starts in your folder on the cluster.`;
}
