//! Windows: an owner-only ACL instead of file modes, Ctrl-C instead of signals, the profile and ProgramData
//! folders, and (in `service`) running under the service manager.

pub mod service;

use std::os::windows::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW,
    SetNamedSecurityInfoW, SDDL_REVISION_1, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    GetSecurityDescriptorDacl, GetTokenInformation, TokenUser, ACL, DACL_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

pub fn home_dir() -> PathBuf {
    std::env::var_os("USERPROFILE")
        .or_else(|| std::env::var_os("HOME"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn default_data_dir() -> PathBuf {
    std::env::var_os("ProgramData")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("chia-pool")
}

pub fn private_file_options() -> std::fs::OpenOptions {
    std::fs::OpenOptions::new()
}

fn wide(s: &std::ffi::OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// The current account's SID as text (S-1-5-…): the one account the ACL lets in.
fn current_user_sid() -> std::io::Result<String> {
    // SAFETY: plain Win32 calls on a token of our own process; the buffer is u64-aligned for TOKEN_USER and
    // sized by the first call; every handle and LocalAlloc'd string is released before returning.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut len = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len);
        let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
        let ok = GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len);
        let err = std::io::Error::last_os_error();
        CloseHandle(token);
        if ok == 0 {
            return Err(err);
        }
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let mut text: *mut u16 = std::ptr::null_mut();
        if ConvertSidToStringSidW(user.User.Sid, &mut text) == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut n = 0;
        while *text.add(n) != 0 {
            n += 1;
        }
        let sid = String::from_utf16_lossy(std::slice::from_raw_parts(text, n));
        LocalFree(text.cast());
        Ok(sid)
    }
}

pub fn make_private(path: &Path, dir: bool) -> std::io::Result<()> {
    let sid = current_user_sid()?;
    // One ACE: full access for this account; "P" cuts inheritance from the parent (ProgramData lets every
    // user read), and for a directory OICI passes the ACE on to what is created inside.
    let inherit = if dir { "OICI" } else { "" };
    let sddl = format!("D:P(A;{inherit};FA;;;{sid})");
    let sddl = wide(std::ffi::OsStr::new(&sddl));
    let path = wide(path.as_os_str());
    // SAFETY: the SDDL and path are NUL-terminated; the descriptor is LocalFree'd after its DACL was applied.
    unsafe {
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        if ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        ) == 0
        {
            return Err(std::io::Error::last_os_error());
        }
        let mut present = 0;
        let mut defaulted = 0;
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let result = if GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted) == 0
        {
            Err(std::io::Error::last_os_error())
        } else {
            let code = SetNamedSecurityInfoW(
                path.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                dacl,
                std::ptr::null(),
            );
            if code == 0 {
                Ok(())
            } else {
                Err(std::io::Error::from_raw_os_error(code as i32))
            }
        };
        LocalFree(sd);
        result
    }
}

pub fn shared_mode(_meta: &std::fs::Metadata) -> Option<u32> {
    None
}

pub fn protection_description() -> String {
    match current_user_sid() {
        Ok(sid) => format!("an ACL that lets only your account ({sid}) read it, nothing inherited"),
        Err(_) => "an ACL that lets only your account read it, nothing inherited".into(),
    }
}

/// Windows has no per-process descriptor limit of this kind for sockets.
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

pub async fn stop_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
