;;; berth_client.el --- Emacs's eglot driving berth-server: what an Emacs user's config does.
;; Reads BERTH_PYTHON, BERTH_WS, BERTH_TEMPLATE, BERTH_OUT; writes what it saw as JSON to BERTH_OUT.
;; Debian installs eglot (and the newer project.el it needs) as system ELPA packages.
;; -Q skips site start-up, so point package.el at them.
(require 'package)
(setq package-directory-list '("/usr/share/emacs/site-lisp/elpa"))
(package-initialize)
(require 'eglot)
(require 'json)
(require 'cl-lib)

(defvar berth-statuses nil "States from sandbox/didChangeStatus, newest first.")
(defvar berth-seen nil)

(cl-defmethod eglot-handle-notification
  (_server (_method (eql sandbox/didChangeStatus)) &rest params)
  (push (plist-get params :state) berth-statuses))

;; docs/network.md's handler, as a user would paste it (plus what the test records).
(defvar berth-blocks nil "sandbox/didBlockRequest params, newest first.")
(cl-defmethod eglot-handle-notification
  (_server (_method (eql sandbox/didBlockRequest)) &key agent host port rule &allow-other-keys)
  (push (list :agent agent :host host :port port :rule rule) berth-blocks)
  (message "Berth: %s was blocked from %s:%s (%s)" agent host port rule))

(defun berth-wait (pred what)
  (let ((deadline (+ (float-time) 30)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall pred) (error "timed out waiting for %s; saw %S" what berth-statuses))))

(let* ((ws (file-name-as-directory (getenv "BERTH_WS")))
       (default-directory ws)
       (eglot-workspace-configuration
        `((:berth . (:template ,(getenv "BERTH_TEMPLATE") :autoStart "never"))))
       (server nil))
  (condition-case err
      (progn
        (with-current-buffer (find-file-noselect (expand-file-name "notes.txt" ws))
          (text-mode)
          (setq server (eglot '(text-mode) (cons 'transient ws) 'eglot-lsp-server
                              (list (getenv "BERTH_PYTHON") "-m" "berth.lsp.app") "plaintext")))
        (berth-wait (lambda () berth-statuses) "a first status")
        (push (cons 'first (car (last berth-statuses))) berth-seen)
        (let ((run (jsonrpc-request server :sandbox/run '(:agentArgs ["-c"]))))
          (push (cons 'run run) berth-seen))
        (berth-wait (lambda () (equal (car berth-statuses) "running")) "running")
        (push (cons 'bad (condition-case e
                             (progn (jsonrpc-request server :sandbox/run
                                                     '(:volumes ["relative:/x"])) nil)
                           (jsonrpc-error
                            (list :code (alist-get 'jsonrpc-error-code (cdr e))
                                  :message (alist-get 'jsonrpc-error-message (cdr e))))))
              berth-seen)
        (push (cons 'list (jsonrpc-request server :workspace/executeCommand
                                           (list :command "berthServer.list"
                                                 :arguments (vector (make-hash-table)))))
              berth-seen)
        ;; The default policy blocks example.com: the notification comes; allow it.
        (jsonrpc-request server :sandbox/exec
                         '(:command ["sh" "-c" "wget -q -O /dev/null http://example.com/ || true"]))
        (berth-wait (lambda () berth-blocks) "a blocked request")
        (push (cons 'block (car berth-blocks)) berth-seen)
        (push (cons 'allowed (jsonrpc-request server :sandbox/changePolicy
                                              (list :allow (vector (plist-get (car berth-blocks)
                                                                              :host)))))
              berth-seen)
        (eglot-shutdown server))
    (error (push (cons 'failure (format "%S" err)) berth-seen))))

(push (cons 'statuses (vconcat (reverse berth-statuses))) berth-seen)
(with-temp-file (getenv "BERTH_OUT") (insert (json-encode berth-seen)))
(kill-emacs 0)
