//! The index's folder: tantivy's memory-mapped directory, except for the
//! list of files tantivy keeps for its garbage collection (`.managed.json`),
//! which is replaced without waiting for the disk.
//!
//! tantivy rewrites that list, and waits for the disk, each time it creates
//! a file: a live change of one offer makes a segment of eight files, and
//! merges make more; such a change waited for the disk 23 times, 13 now. The
//! segments' files and `meta.json` (what a search reads) are still written
//! durably before a commit is acknowledged. The list only says which files
//! tantivy may delete: if a power cut loses its last version, the files it
//! no longer names stay behind until the next rebuild removes them; if it
//! leaves it unreadable, the index does not open and is rebuilt from the
//! database (`index::open_or_create`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::directory::error::OpenWriteError;
use tantivy::directory::error::{DeleteError, LockError, OpenDirectoryError, OpenReadError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};

/// tantivy's name for its list of files.
pub const FILE_LIST: &str = ".managed.json";
/// Where the new list is written before it replaces the old one (a name
/// starting with a dot: tantivy never deletes it).
pub const FILE_LIST_DRAFT: &str = ".managed.json.draft";

#[derive(Clone, Debug)]
pub struct IndexDirectory {
    files: MmapDirectory,
    root: PathBuf,
}

impl IndexDirectory {
    pub fn open(root: &Path) -> Result<IndexDirectory, OpenDirectoryError> {
        Ok(IndexDirectory {
            files: MmapDirectory::open(root)?,
            root: root.to_owned(),
        })
    }

    /// Written whole, then renamed over the old one: a reader sees either.
    fn replace_file_list(&self, data: &[u8]) -> io::Result<()> {
        let draft = self.root.join(FILE_LIST_DRAFT);
        let mut file = std::fs::File::create(&draft)?;
        file.write_all(data)?;
        drop(file);
        std::fs::rename(draft, self.root.join(FILE_LIST))
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
        self.files.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.files.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        if path == Path::new(FILE_LIST) {
            self.replace_file_list(data)
        } else {
            self.files.atomic_write(path, data)
        }
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.files.sync_directory()
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
    fn the_file_list_is_replaced_whole_and_other_files_go_to_tantivy() {
        let root = tempfile::tempdir().expect("temporary folder");
        let directory = IndexDirectory::open(root.path()).expect("folder opens");
        for list in [&b"[\"a.idx\"]\n"[..], b"[\"a.idx\",\"b.idx\"]\n"] {
            directory
                .atomic_write(Path::new(FILE_LIST), list)
                .expect("list written");
            assert_eq!(directory.atomic_read(Path::new(FILE_LIST)).unwrap(), list);
        }
        assert!(!root.path().join(FILE_LIST_DRAFT).exists());
        directory
            .atomic_write(Path::new("meta.json"), b"{}")
            .expect("meta written");
        assert_eq!(std::fs::read(root.path().join("meta.json")).unwrap(), b"{}");
    }
}
