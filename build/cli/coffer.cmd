@echo off
rem The `coffer` command of an installed Coffer (docs\DEPLOYMENT.md "The coffer command"): the CLI inside
rem the app archive, run in Coffer.exe's main process (--coffer-cli; the runAsNode fuse is off).
rem Usage: "%ProgramFiles%\Coffer\resources\bin\coffer.cmd" verify C:\Data
setlocal
"%~dp0..\..\Coffer.exe" --coffer-cli %*
exit /b %ERRORLEVEL%
