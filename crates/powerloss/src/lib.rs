//! An SQLite VFS for power-loss tests: every file SQLite opens through it is written to disk as
//! usual, but what *survives a power loss* is only what the file held at its last `xSync`.
//! [`Cut::now`] records that durable state of a folder's database files at the moment the power
//! goes; [`Cut::apply`], once the connections are gone, puts every file back to it (a file never
//! synced disappears; the `-shm` index, memory the OS would lose, is removed). A database
//! opened afterwards sees exactly what a machine that lost power at that moment would show.
//!
//! The VFS wraps SQLite's default one ("unix") and forwards every call; only `xSync` (copy the
//! file as it is now into the durable image), `xDelete` and `xOpen` (track the file) add
//! anything. Register it once with [`register`]; open a connection with it by name ([`NAME`]).
//!
//! Simplifications, all on the safe side of what a real disk may lose: a sync makes the whole
//! file durable (a real disk may also persist unsynced writes — it may, not must, so dropping
//! them is the strictest case), and a file's creation and deletion are durable at once (the
//! directory is not modelled).

use rusqlite::ffi;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The name to open connections with (`Connection::open_with_flags_and_vfs`).
pub const NAME: &str = "powerloss";
const NAME_C: &CStr = c"powerloss";

/// Every file opened through the VFS, with its content at its last sync (`None`: never synced).
static DURABLE: Mutex<Option<HashMap<PathBuf, Option<Vec<u8>>>>> = Mutex::new(None);

fn with_durable<T>(action: impl FnOnce(&mut HashMap<PathBuf, Option<Vec<u8>>>) -> T) -> T {
    let mut guard = DURABLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    action(guard.get_or_insert_with(HashMap::new))
}

/// The durable state of the database files of one folder, as of the moment it was taken.
#[derive(Debug)]
pub struct Cut {
    dir: PathBuf,
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl Cut {
    /// The power goes now: what the files under `dir` hold durably at this moment.
    pub fn now(dir: &Path) -> Self {
        // SQLite names files by their full path with symbolic links resolved.
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
        let dir = dir.as_path();
        let files = with_durable(|durable| {
            durable
                .iter()
                .filter(|(path, _)| path.parent() == Some(dir))
                .map(|(path, image)| (path.clone(), image.clone()))
                .collect()
        });
        Self {
            dir: dir.to_owned(),
            files,
        }
    }

    /// Puts the files back to the state of [`Cut::now`]. Call it once every connection to them
    /// is closed (the store dropped), as a machine restarts with nothing open.
    pub fn apply(self) -> std::io::Result<()> {
        for (path, image) in &self.files {
            match image {
                Some(bytes) => std::fs::write(path, bytes)?,
                None => match std::fs::remove_file(path) {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        return Err(error)
                    }
                    _ => {}
                },
            }
            with_durable(|durable| durable.remove(path));
        }
        // The wal-index (`-shm`) is shared memory backed by a file; after a power loss its
        // content is whatever it is, and SQLite rebuilds it from the WAL when it is absent.
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.to_string_lossy().ends_with("-shm") {
                std::fs::remove_file(path)?;
            }
        }
        Ok(())
    }
}

/// Registers the VFS (not as the default) once per process.
pub fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED.get_or_init(register_once).clone()
}

fn register_once() -> Result<(), String> {
    // SAFETY: sqlite3_vfs_find with NULL returns the default VFS, a static that lives for the
    // process; the copy below is leaked, so it lives as long as SQLite may use it.
    unsafe {
        let real = ffi::sqlite3_vfs_find(std::ptr::null());
        if real.is_null() {
            return Err("SQLite has no default VFS".to_owned());
        }
        let mut shim: ffi::sqlite3_vfs = *real;
        shim.zName = NAME_C.as_ptr();
        shim.pNext = std::ptr::null_mut();
        shim.pAppData = real.cast();
        shim.szOsFile = std::mem::size_of::<ShimFile>() as c_int;
        shim.xOpen = Some(shim_open);
        shim.xDelete = Some(shim_delete);
        let shim = Box::into_raw(Box::new(shim));
        let rc = ffi::sqlite3_vfs_register(shim, 0);
        if rc != ffi::SQLITE_OK {
            return Err(format!("sqlite3_vfs_register failed: {rc}"));
        }
    }
    Ok(())
}

/// What SQLite allocates for a file of this VFS (`szOsFile`): the base struct first, then the
/// real VFS's file (allocated apart, since its size is only known at run time) and the path.
#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    real_words: usize,
    path: *mut PathBuf,
}

/// # Safety
/// `vfs` is the registered shim (its `pAppData` the real VFS).
unsafe fn real_vfs(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    // SAFETY: set by register_once.
    unsafe { (*vfs).pAppData.cast() }
}

unsafe extern "C" fn shim_open(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite hands a buffer of szOsFile bytes for `file` and a live VFS; the real file
    // buffer is allocated here and freed by shim_close (or below if the open fails).
    unsafe {
        let real = real_vfs(vfs);
        let shim = file.cast::<ShimFile>();
        (*shim).base.pMethods = std::ptr::null();
        let words = ((*real).szOsFile as usize).div_ceil(8).max(1);
        let buffer: Box<[u64]> = vec![0u64; words].into_boxed_slice();
        let real_file = Box::into_raw(buffer).cast::<ffi::sqlite3_file>();
        let Some(open) = (*real).xOpen else {
            free_real(real_file, words);
            return ffi::SQLITE_CANTOPEN;
        };
        let rc = open(real, name, real_file, flags, out_flags);
        if rc != ffi::SQLITE_OK || (*real_file).pMethods.is_null() {
            free_real(real_file, words);
            return if rc == ffi::SQLITE_OK {
                ffi::SQLITE_CANTOPEN
            } else {
                rc
            };
        }
        (*shim).real = real_file;
        (*shim).real_words = words;
        (*shim).path = std::ptr::null_mut();
        if !name.is_null() {
            let path = PathBuf::from(CStr::from_ptr(name).to_string_lossy().into_owned());
            with_durable(|durable| {
                durable.entry(path.clone()).or_insert(None);
            });
            (*shim).path = Box::into_raw(Box::new(path));
        }
        (*shim).base.pMethods = &METHODS;
        ffi::SQLITE_OK
    }
}

/// # Safety
/// `real_file` was made by shim_open from a `Box<[u64]>` of `words` words.
unsafe fn free_real(real_file: *mut ffi::sqlite3_file, words: usize) {
    // SAFETY: rebuilds the box shim_open leaked.
    unsafe {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            real_file.cast::<u64>(),
            words,
        )));
    }
}

unsafe extern "C" fn shim_delete(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    // SAFETY: a live VFS and a NUL-terminated name from SQLite.
    unsafe {
        let real = real_vfs(vfs);
        if !name.is_null() {
            let path = PathBuf::from(CStr::from_ptr(name).to_string_lossy().into_owned());
            with_durable(|durable| {
                if let Some(image) = durable.get_mut(&path) {
                    *image = None;
                }
            });
        }
        match (*real).xDelete {
            Some(delete) => delete(real, name, sync_dir),
            None => ffi::SQLITE_IOERR_DELETE,
        }
    }
}

/// # Safety
/// `file` is a ShimFile opened by shim_open.
unsafe fn inner(
    file: *mut ffi::sqlite3_file,
) -> (*mut ffi::sqlite3_file, *const ffi::sqlite3_io_methods) {
    // SAFETY: see above; the real file's methods are set by the real xOpen.
    unsafe {
        let real = (*file.cast::<ShimFile>()).real;
        (real, (*real).pMethods)
    }
}

/// Forwards one call to the real file's method, or answers `$missing` if it has none.
macro_rules! forward {
    ($file:expr, $method:ident, $missing:expr $(, $arg:expr)*) => {{
        // SAFETY: `$file` is a ShimFile opened by shim_open; the real file is open.
        unsafe {
            let (real, methods) = inner($file);
            match (*methods).$method {
                Some(method) => method(real $(, $arg)*),
                None => $missing,
            }
        }
    }};
}

unsafe extern "C" fn shim_close(file: *mut ffi::sqlite3_file) -> c_int {
    let rc = forward!(file, xClose, ffi::SQLITE_OK);
    // SAFETY: frees what shim_open allocated; SQLite calls xClose once per opened file.
    unsafe {
        let shim = file.cast::<ShimFile>();
        free_real((*shim).real, (*shim).real_words);
        if !(*shim).path.is_null() {
            drop(Box::from_raw((*shim).path));
        }
        (*shim).base.pMethods = std::ptr::null();
    }
    rc
}

unsafe extern "C" fn shim_read(
    file: *mut ffi::sqlite3_file,
    buffer: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    forward!(file, xRead, ffi::SQLITE_IOERR_READ, buffer, amount, offset)
}

unsafe extern "C" fn shim_write(
    file: *mut ffi::sqlite3_file,
    buffer: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    forward!(
        file,
        xWrite,
        ffi::SQLITE_IOERR_WRITE,
        buffer,
        amount,
        offset
    )
}

unsafe extern "C" fn shim_truncate(
    file: *mut ffi::sqlite3_file,
    size: ffi::sqlite3_int64,
) -> c_int {
    forward!(file, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, size)
}

/// The one call that changes what survives: after the real sync, the file as it is now is
/// what a power loss leaves.
unsafe extern "C" fn shim_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    let rc = forward!(file, xSync, ffi::SQLITE_IOERR_FSYNC, flags);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    // SAFETY: `path` is null or the PathBuf shim_open boxed.
    let path = unsafe { (*file.cast::<ShimFile>()).path };
    if !path.is_null() {
        // SAFETY: see above.
        let path = unsafe { &*path };
        match std::fs::read(path) {
            Ok(bytes) => with_durable(|durable| {
                durable.insert(path.clone(), Some(bytes));
            }),
            Err(_) => return ffi::SQLITE_IOERR_FSYNC,
        }
    }
    rc
}

unsafe extern "C" fn shim_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    forward!(file, xFileSize, ffi::SQLITE_IOERR_FSTAT, size)
}

unsafe extern "C" fn shim_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward!(file, xLock, ffi::SQLITE_IOERR_LOCK, level)
}

unsafe extern "C" fn shim_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward!(file, xUnlock, ffi::SQLITE_IOERR_UNLOCK, level)
}

unsafe extern "C" fn shim_check_reserved_lock(
    file: *mut ffi::sqlite3_file,
    out: *mut c_int,
) -> c_int {
    forward!(
        file,
        xCheckReservedLock,
        ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        out
    )
}

unsafe extern "C" fn shim_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    forward!(file, xFileControl, ffi::SQLITE_NOTFOUND, op, arg)
}

unsafe extern "C" fn shim_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    forward!(file, xSectorSize, 4096)
}

unsafe extern "C" fn shim_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    forward!(file, xDeviceCharacteristics, 0)
}

unsafe extern "C" fn shim_shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    page_size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    forward!(
        file,
        xShmMap,
        ffi::SQLITE_IOERR_SHMMAP,
        page,
        page_size,
        extend,
        out
    )
}

unsafe extern "C" fn shim_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    forward!(file, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, offset, n, flags)
}

unsafe extern "C" fn shim_shm_barrier(file: *mut ffi::sqlite3_file) {
    forward!(file, xShmBarrier, ())
}

unsafe extern "C" fn shim_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    forward!(file, xShmUnmap, ffi::SQLITE_OK, delete)
}

unsafe extern "C" fn shim_fetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    forward!(file, xFetch, ffi::SQLITE_OK, offset, amount, out)
}

unsafe extern "C" fn shim_unfetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    page: *mut c_void,
) -> c_int {
    forward!(file, xUnfetch, ffi::SQLITE_OK, offset, page)
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(shim_close),
    xRead: Some(shim_read),
    xWrite: Some(shim_write),
    xTruncate: Some(shim_truncate),
    xSync: Some(shim_sync),
    xFileSize: Some(shim_file_size),
    xLock: Some(shim_lock),
    xUnlock: Some(shim_unlock),
    xCheckReservedLock: Some(shim_check_reserved_lock),
    xFileControl: Some(shim_file_control),
    xSectorSize: Some(shim_sector_size),
    xDeviceCharacteristics: Some(shim_device_characteristics),
    xShmMap: Some(shim_shm_map),
    xShmLock: Some(shim_shm_lock),
    xShmBarrier: Some(shim_shm_barrier),
    xShmUnmap: Some(shim_shm_unmap),
    xFetch: Some(shim_fetch),
    xUnfetch: Some(shim_unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    fn open(path: &Path, synchronous: &str) -> Connection {
        register().expect("registers");
        let connection =
            Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).expect("opens");
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};
                 CREATE TABLE IF NOT EXISTS t (v INTEGER);"
            ))
            .expect("set up");
        connection
    }

    fn rows(path: &Path) -> i64 {
        Connection::open(path)
            .and_then(|c| c.query_row("SELECT count(*) FROM t", [], |row| row.get(0)))
            .unwrap_or(-1)
    }

    /// The VFS itself: a commit under `synchronous = FULL` survives a cut, one under `OFF`
    /// does not (the cut drops what was written and never synced).
    #[test]
    fn a_cut_keeps_synced_commits_and_drops_the_rest() {
        for (synchronous, survives) in [("FULL", true), ("OFF", false)] {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("t.db");
            {
                let setup = open(&path, "FULL");
                setup
                    .execute("INSERT INTO t VALUES (1)", [])
                    .expect("row 1");
            }
            let connection = open(&path, synchronous);
            connection
                .execute("INSERT INTO t VALUES (2)", [])
                .expect("row 2");
            let cut = Cut::now(dir.path());
            drop(connection);
            cut.apply().expect("applies");
            assert_eq!(rows(&path), if survives { 2 } else { 1 }, "{synchronous}");
        }
    }
}
