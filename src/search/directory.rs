//! The index's folder: tantivy's memory-mapped directory, written without
//! waiting for the disk, and checked instead after a stop that did not wait.
//!
//! tantivy waits for the disk (fsync) after each file it writes, after each
//! rewrite of `meta.json` and of its list of files, and for the folder: a
//! live change of one offer waited 23 times, and on a shared virtual disk
//! one wait now and then takes hundreds of milliseconds, while a change must
//! reach searches well within a second. The index is derived from the
//! database and rebuilt from it at will, so its durability is traded for a
//! check:
//!
//! - before its first write, the writer leaves a marker ([`UNSYNCED`]),
//!   written durably: the folder may now hold writes the disk has not
//!   confirmed;
//! - a clean stop closes the folder for writing (a merge tantivy's writer
//!   left running can no longer change `meta.json`), waits for the disk once
//!   for every file, then removes the marker;
//! - an index found with the marker is checked file by file against the
//!   checksums tantivy writes at the end of each file (`index.rs`); a
//!   missing or damaged file, or an unreadable `meta.json`, means a rebuild.
//!
//! A process that dies leaves its writes in the page cache, where the check
//! finds them whole. Only a machine that stops (power cut, kernel crash) can
//! lose some: then either the last `meta.json` and its files survive, and
//! the indexer replays the feed from the sequence it records, or the check
//! fails and the index is rebuilt.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

/// tantivy's list of its files.
pub const FILE_LIST: &str = ".managed.json";
/// Present while the folder may hold writes the disk has not confirmed.
pub const UNSYNCED: &str = ".relais-unsynced";
/// Held by the process that writes the index, from before it opens the
/// index (tantivy's own lock comes later, with its writer).
const OWNER_LOCK: &str = ".relais-owner.lock";
/// A file replaced whole is first written under its name with this suffix.
pub const DRAFT_SUFFIX: &str = ".draft";

#[derive(Clone, Debug)]
pub struct IndexDirectory {
    files: MmapDirectory,
    root: PathBuf,
    /// Whether the folder is closed for writing (`sync_and_unmark`). Held
    /// by each whole-file replacement: they share draft names, and one under
    /// way ends before the folder closes.
    closed: Arc<Mutex<bool>>,
}

impl IndexDirectory {
    pub fn open(root: &Path) -> Result<IndexDirectory, OpenDirectoryError> {
        Ok(IndexDirectory {
            files: MmapDirectory::open(root)?,
            root: root.to_owned(),
            closed: Arc::default(),
        })
    }

    /// Makes this process the folder's only writer until the lock is
    /// dropped; `LockBusy` when another process writes it.
    pub fn own(&self) -> Result<DirectoryLock, LockError> {
        self.files.acquire_lock(&Lock {
            filepath: PathBuf::from(OWNER_LOCK),
            is_blocking: false,
        })
    }

    /// Whether the last writer stopped without waiting for the disk.
    pub fn is_unsynced(&self) -> bool {
        self.root.join(UNSYNCED).exists()
    }

    /// Leaves the marker, durably, before anything is written.
    pub fn mark_unsynced(&self) -> io::Result<()> {
        File::create(self.root.join(UNSYNCED))?.sync_all()?;
        self.files.sync_directory()
    }

    /// Closes the folder for writing, waits for the disk for every file,
    /// then removes the marker. Runs once tantivy's writer is dropped: a
    /// merge it leaves running may still end, but can no longer write.
    pub fn sync_and_unmark(&self) -> io::Result<()> {
        *self.lock_closed()? = true;
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            match File::open(entry.path()) {
                Ok(file) => file.sync_all()?,
                // Removed meanwhile by tantivy's clean-up: nothing to keep.
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        self.files.sync_directory()?;
        match std::fs::remove_file(self.root.join(UNSYNCED)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        self.files.sync_directory()
    }

    fn lock_closed(&self) -> io::Result<MutexGuard<'_, bool>> {
        self.closed
            .lock()
            .map_err(|_| io::Error::other("écriture dans l'index interrompue"))
    }

    /// Refuses a write once the folder is closed.
    fn open_for_writing(&self) -> io::Result<MutexGuard<'_, bool>> {
        let closed = self.lock_closed()?;
        if *closed {
            return Err(io::Error::other("l'index est fermé en écriture"));
        }
        Ok(closed)
    }
}

/// A new file of the index, closed without waiting for the disk.
struct NewFile(File);

impl Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl TerminatingWrite for NewFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.0.flush()
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.files.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.files.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.files.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        // Checked, not held: a file begun as the folder closes is named by
        // no `meta.json` and is removed at the next start.
        drop(
            self.open_for_writing()
                .map_err(|error| OpenWriteError::wrap_io_error(error, path.to_owned()))?,
        );
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.root.join(path))
            .map_err(|error| match error.kind() {
                io::ErrorKind::AlreadyExists => OpenWriteError::FileAlreadyExists(path.to_owned()),
                _ => OpenWriteError::wrap_io_error(error, path.to_owned()),
            })?;
        Ok(io::BufWriter::new(Box::new(NewFile(file))))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.files.atomic_read(path)
    }

    /// Written whole, then renamed over the old one: a reader sees either.
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let _one_at_a_time = self.open_for_writing()?;
        let target = self.root.join(path);
        let mut draft = target.clone().into_os_string();
        draft.push(DRAFT_SUFFIX);
        std::fs::write(&draft, data)?;
        std::fs::rename(draft, target)
    }

    /// The folder is synced once, at a clean stop (`sync_and_unmark`).
    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.files.acquire_lock(lock)
    }

    fn watch(&self, callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.files.watch(callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_replaced_whole_and_written_in_full() {
        let root = tempfile::tempdir().expect("temporary folder");
        let directory = IndexDirectory::open(root.path()).expect("folder opens");
        for list in [&b"[\"a.idx\"]\n"[..], b"[\"a.idx\",\"b.idx\"]\n"] {
            directory
                .atomic_write(Path::new(FILE_LIST), list)
                .expect("list written");
            assert_eq!(directory.atomic_read(Path::new(FILE_LIST)).unwrap(), list);
        }
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE_LIST], "no draft left behind");

        let mut file = directory.open_write(Path::new("a.idx")).expect("opened");
        file.write_all(b"segment").unwrap();
        file.terminate().expect("closed");
        assert_eq!(
            std::fs::read(root.path().join("a.idx")).unwrap(),
            b"segment"
        );
        assert!(matches!(
            directory.open_write(Path::new("a.idx")),
            Err(OpenWriteError::FileAlreadyExists(_))
        ));
    }

    #[test]
    fn the_marker_lasts_from_the_first_write_to_a_clean_stop() {
        let root = tempfile::tempdir().expect("temporary folder");
        let directory = IndexDirectory::open(root.path()).expect("folder opens");
        assert!(!directory.is_unsynced());
        directory.mark_unsynced().expect("marked");
        directory
            .atomic_write(Path::new("meta.json"), b"{}")
            .expect("written");
        assert!(IndexDirectory::open(root.path()).unwrap().is_unsynced());
        directory.sync_and_unmark().expect("synced");
        assert!(!directory.is_unsynced());
        assert_eq!(std::fs::read(root.path().join("meta.json")).unwrap(), b"{}");
        directory
            .sync_and_unmark()
            .expect("a marker already gone is no error");
        assert!(
            directory
                .atomic_write(Path::new("meta.json"), b"[]")
                .is_err()
                && directory.open_write(Path::new("b.idx")).is_err(),
            "a synced folder takes no more writes"
        );
        assert_eq!(std::fs::read(root.path().join("meta.json")).unwrap(), b"{}");
    }

    #[test]
    fn one_process_owns_the_folder() {
        let root = tempfile::tempdir().expect("temporary folder");
        let first = IndexDirectory::open(root.path()).unwrap();
        let second = IndexDirectory::open(root.path()).unwrap();
        let owned = first.own().expect("free");
        assert!(matches!(second.own(), Err(LockError::LockBusy)));
        drop(owned);
        second.own().expect("free again");
    }
}
