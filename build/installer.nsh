; NSIS additions for Coffer (docs/DEPLOYMENT.md "Windows"). Included by electron-builder's installer script.
;
; Silent, per-machine install:   Coffer-Setup-<version>-x64.exe /S
; Silent uninstall:              "%ProgramFiles%\Coffer\Uninstall Coffer.exe" /S
;
; The installer never touches the policy in HKLM\Software\Policies\Coffer (Group Policy or Intune owns it),
; nor the user's keys (Windows Credential Manager) or protected files: uninstalling leaves files encrypted
; and restorable by a reinstall or by the helpdesk.

!macro customInstall
  ; Record where the `coffer` command lives, so IT scripts can find it without guessing the install folder.
  WriteRegStr HKLM "Software\Coffer" "CliPath" "$INSTDIR\resources\bin\coffer.cmd"
!macroend

!macro customUnInstall
  DeleteRegValue HKLM "Software\Coffer" "CliPath"
  DeleteRegKey /ifempty HKLM "Software\Coffer"
!macroend
